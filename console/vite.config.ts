import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The web console (docs/console.md): a Preact single-page app bundled at build time into
 * dist/console/, which the server serves under /ui (src/server/routes/console.ts). Everything it
 * needs is in the bundle: no CDN, no request to another host.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/ui/',
  logLevel: 'warn',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: fileURLToPath(new URL('../dist/console', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    // one app bundle plus CodeMirror and uPlot; the warning limit fits them (~600 kB before gzip)
    chunkSizeWarningLimit: 900,
    assetsInlineLimit: 0,
  },
});
