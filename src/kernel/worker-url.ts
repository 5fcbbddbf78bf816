/**
 * Where a worker thread's entry module is (text extraction, fulltext analysis).
 *
 * Compiled (`dist/src/...`): the `.js` file next to the module that asks.
 *
 * Run from the TypeScript sources (vitest runs `src/` through Vite; a worker
 * thread is a fresh Node.js module graph that cannot load `.ts`): a small
 * bootstrap module, a `data:` URL, registers module hooks in the worker
 * (`module.register`) that compile `.ts` files with esbuild (which Vite,
 * hence vitest, brings along) and resolve the `.js` specifiers of NodeNext
 * imports between them to their `.ts` files, then imports the entry's `.ts`.
 * The worker thus always runs the current sources, never a stale build.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

/** Module hooks (https://nodejs.org/api/module.html#customization-hooks) that load TypeScript with esbuild. */
const TS_HOOKS = `
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
let esbuild;
export async function initialize(data) {
  const m = await import(data.esbuild);
  esbuild = typeof m.transform === 'function' ? m : m.default;
}
export async function resolve(specifier, context, next) {
  const parent = context.parentURL;
  if (parent !== undefined && parent.startsWith('file:') && parent.endsWith('.ts') && /^\\.\\.?\\//.test(specifier) && specifier.endsWith('.js')) {
    const ts = new URL(specifier.slice(0, -3) + '.ts', parent);
    if (existsSync(fileURLToPath(ts))) return { url: ts.href, format: 'module', shortCircuit: true };
  }
  return next(specifier, context);
}
export async function load(url, context, next) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return next(url, context);
  const file = fileURLToPath(url);
  const { code } = await esbuild.transform(await readFile(file, 'utf8'), {
    loader: 'ts', format: 'esm', target: 'es2022', sourcefile: file, sourcemap: 'inline',
  });
  return { format: 'module', source: code, shortCircuit: true };
}
`;

const dataUrl = (code: string): string => `data:text/javascript,${encodeURIComponent(code)}`;

/**
 * The URL to start a worker thread from (see the module comment): `entry`
 * (a `./name.js` specifier) relative to `from` (the asking module's
 * `import.meta.url`).
 */
export function workerUrl(from: string, entry: string): URL {
  if (!from.endsWith('.ts')) return new URL(entry, from);
  let esbuild: string;
  try {
    esbuild = pathToFileURL(createRequire(from).resolve('esbuild')).href;
  } catch {
    throw new Error('running a worker thread from TypeScript sources needs esbuild (installed with vitest); or run the build');
  }
  const worker = new URL(entry.replace(/\.js$/, '.ts'), from).href;
  const bootstrap = [
    "import { register } from 'node:module';",
    `register(${JSON.stringify(dataUrl(TS_HOOKS))}, { data: { esbuild: ${JSON.stringify(esbuild)} } });`,
    `await import(${JSON.stringify(worker)});`,
  ].join('\n');
  return new URL(dataUrl(bootstrap));
}
