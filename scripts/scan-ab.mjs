// usage: node scripts/scan-ab.mjs <checkout with a built dist/> (issue 14 A/B; works with builds before and after the module host)  — full-scan AQL queries over 100k users, in process
import fs from 'node:fs'; import os from 'node:os'; import path from 'node:path';
const root = process.argv[2];
const { DEFAULTS } = await import(path.join(root, 'dist/src/config.js'));
const { Database } = await import(path.join(root, 'dist/src/db.js'));
const { createLogger } = await import(path.join(root, 'dist/src/log.js'));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scan-mb-'));
const db = new Database({ ...DEFAULTS, dataDir: dir, durability: 'relaxed' }, createLogger('silent'));
await db.open();
let applyBatch, runAql;
if (typeof db.runAql === 'function') { applyBatch = (o) => db.applyBatch(o); runAql = (b) => db.runAql(b); }
else {
  const { Entities } = await import(path.join(root, 'dist/src/entities/index.js'));
  const { Aql } = await import(path.join(root, 'dist/src/aql/index.js'));
  applyBatch = (o) => db.get(Entities).applyBatch(o); runAql = (b) => db.get(Aql).run(b);
}
const U = 100000;
for (let b = 0; b < U; b += 1000) { const ops = []; for (let i = b; i < b + 1000; i++) ops.push({ op: 'put', key: `users:${i}`, blob: { name: `user ${i}`, city: `c${i % 1000}`, age: 18 + (i % 70), country: `C${i % 50}` } }); await applyBatch(ops); }
const Q = [
  ['collect-all-scan', 'FOR u IN users COLLECT c = u.country WITH COUNT INTO n RETURN {c, n}', 6],
  ['filter-scan', 'FOR u IN users FILTER u.age == 30 RETURN u._key', 6],
];
const out = {};
for (const [name, query, n] of Q) {
  await runAql({ query });
  const t0 = performance.now();
  const ts = [];
  for (let i = 0; i < n; i++) { const t = performance.now(); await runAql({ query }); ts.push(performance.now() - t); }
  ts.sort((a, b) => a - b);
  out[name] = { median_ms: Math.round(ts[Math.floor(ts.length / 2)]), min_ms: Math.round(ts[0]) };
}
await db.close(); fs.rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify(out));
