import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import YAML from 'yaml';
import { ThemisError } from '../../errors.js';
import { PACKAGE_ROOT } from '../../paths.js';
import type { AreaRoute, RouteArea } from '../route-area.js';
import { once, type Static, serveStatic as serve, staticBody as stat } from '../static.js';

/**
 * The contract and its reference page, without authentication (like /health):
 *
 * - `GET /openapi.yaml`: the package's openapi.yaml as shipped (the file the server compiles its
 *   request schemas and permissions from);
 * - `GET /openapi.json`: the same document as JSON, converted once;
 * - `GET /docs`: Swagger UI (npm `swagger-ui-dist`) rendering `/openapi.json`;
 * - `GET /docs/assets/{file}`: the page's script, styles and icons, read from the package in
 *   node_modules (no CDN: the page works without network beyond this server).
 *
 * Every body is read at most once per process, on first request (the bundle is ~1.5 MB; servers
 * started by tests never pay for it), and carries a strong ETag (sha256): a revalidating client gets
 * 304. The page sends a Content-Security-Policy that allows this origin only (scripts, styles,
 * fetches), so the browser itself refuses any request to another host.
 */

/** swagger-ui-dist's folder in node_modules (resolved like an import: works wherever npm put it). */
const swaggerDir = once(() => path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json')));
const swaggerVersion = once(
  () => (JSON.parse(fs.readFileSync(path.join(swaggerDir(), 'package.json'), 'utf8')) as { version: string }).version,
);

/** The files of swagger-ui-dist the page uses (an allow-list: nothing else of node_modules is reachable). */
const PACKAGE_ASSETS: Readonly<Record<string, string>> = {
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui.css': 'text/css; charset=utf-8',
  'favicon-32x32.png': 'image/png',
  'favicon-16x16.png': 'image/png',
};

/**
 * The page's own script (a file, not inline, so the CSP needs no 'unsafe-inline' for scripts). It
 * fetches the contract from this origin and lists this origin first under `servers`, so "Try it out"
 * calls the server the page came from (openapi.yaml's own entry is the default local address).
 */
const INIT_JS = `// ThemisTS API reference: Swagger UI over /openapi.json (src/server/routes/docs.ts).
fetch('/openapi.json', { headers: { accept: 'application/json' } })
  .then(function (r) {
    if (!r.ok) throw new Error('GET /openapi.json answered ' + r.status);
    return r.json();
  })
  .then(function (spec) {
    var here = window.location.origin;
    spec.servers = [{ url: here, description: 'this server' }].concat(
      (spec.servers || []).filter(function (s) { return s.url !== here; }),
    );
    window.ui = SwaggerUIBundle({
      spec: spec,
      dom_id: '#swagger-ui',
      deepLinking: true,
      docExpansion: 'list',
      defaultModelsExpandDepth: 0,
      displayOperationId: true,
      filter: true,
      tryItOutEnabled: false,
      validatorUrl: null,
      presets: [SwaggerUIBundle.presets.apis],
      layout: 'BaseLayout',
    });
  })
  .catch(function (e) {
    var p = document.getElementById('swagger-ui');
    p.textContent = 'Cannot load the API description: ' + e.message;
    p.className = 'load-error';
  });
`;

const pageHtml = (v: string) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ThemisTS API reference</title>
<link rel="icon" type="image/png" sizes="32x32" href="/docs/assets/favicon-32x32.png?v=${v}">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css?v=${v}">
<link rel="stylesheet" href="/docs/assets/themis.css?v=${v}">
</head>
<body>
<header class="themis-bar"><strong>ThemisTS</strong> API reference · <a href="/openapi.yaml">openapi.yaml</a> · <a href="/openapi.json">openapi.json</a> · authorize with an API key (<code>Authorization: Bearer &lt;key&gt;</code>) to try requests</header>
<div id="swagger-ui">Loading the API description…</div>
<script src="/docs/assets/swagger-ui-bundle.js?v=${v}"></script>
<script src="/docs/assets/themis-init.js?v=${v}"></script>
</body>
</html>
`;

const THEMIS_CSS = `body { margin: 0; background: #fafafa; }
.themis-bar { font: 14px/1.4 sans-serif; padding: 10px 20px; background: #1b1b1b; color: #eee; }
.themis-bar a { color: #9cf; }
.themis-bar code { color: #fff; }
.load-error { font: 16px sans-serif; color: #a00; padding: 20px; }
`;

/**
 * Allow this origin only: the bundle, our script and styles; data: images (Swagger UI's icons are
 * inline SVG in its CSS); inline style attributes (React sets them). connect-src 'self' keeps
 * "Try it out" and the spec fetch on this server.
 */
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** The served bodies: the contract (converted once), the page and its assets. */
const specYaml = once(() => stat(fs.readFileSync(path.join(PACKAGE_ROOT, 'openapi.yaml')), 'application/yaml; charset=utf-8'));
// Parsed from the same bytes as /openapi.yaml (the server's own parsed copy stays private to it).
const specJson = once(() => stat(JSON.stringify(YAML.parse(Buffer.from(specYaml().body).toString('utf8'))), 'application/json'));
const page = once(() => stat(pageHtml(swaggerVersion()), 'text/html; charset=utf-8'));
const assets = new Map<string, () => Static>([
  ...Object.entries(PACKAGE_ASSETS).map(([name, type]): [string, () => Static] => [
    name,
    once(() => stat(fs.readFileSync(path.join(swaggerDir(), name)), type)),
  ]),
  ['themis-init.js', once(() => stat(INIT_JS, 'text/javascript; charset=utf-8'))],
  ['themis.css', once(() => stat(THEMIS_CSS, 'text/css; charset=utf-8'))],
]);

/** The contract may change with the server's version: clients revalidate (cheap: 304). */
const REVALIDATE = { 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff' };
/** Asset URLs carry swagger-ui-dist's version (`?v=`), so a day of caching never serves a stale bundle after an upgrade. */
const ASSET_CACHE = { 'Cache-Control': 'public, max-age=86400', 'X-Content-Type-Options': 'nosniff' };

export function docsRoutes(): AreaRoute[] {
  const conditional = ['if-none-match'] as const;
  return [
    { method: 'GET', path: '/openapi.yaml', headers: conditional, handler: (req) => serve(req, specYaml(), REVALIDATE) },
    { method: 'GET', path: '/openapi.json', headers: conditional, handler: (req) => serve(req, specJson(), REVALIDATE) },
    {
      method: 'GET',
      path: '/docs',
      headers: conditional,
      handler: (req) =>
        serve(req, page(), {
          ...REVALIDATE,
          'Content-Security-Policy': CSP,
          'Referrer-Policy': 'no-referrer',
          'X-Frame-Options': 'DENY',
        }),
    },
    {
      method: 'GET',
      path: '/docs/assets/:file',
      headers: conditional,
      handler: (req) => {
        const name = req.params.file!;
        const f = assets.get(name);
        if (f === undefined)
          throw new ThemisError('NOT_FOUND', `no asset named "${name.slice(0, 80)}" (the page's assets are under /docs/assets/)`);
        return serve(req, f(), ASSET_CACHE);
      },
    },
  ];
}

export const docsArea: RouteArea = {
  name: 'docs',
  routes: () => docsRoutes(),
};
