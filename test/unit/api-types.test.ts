import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/server.js';

/**
 * src/api/types.ts is generated from openapi.yaml by `npm run
 * gen:types` (openapi-typescript) and committed. Regenerate it with the
 * script's own command line into a temporary file and compare, so a schema
 * change without regenerated types fails here instead of drifting.
 * OPENAPI_TYPESCRIPT_BIN points at another copy of the generator.
 */

const COMMITTED = path.join(ROOT, 'src/api/types.ts');
const BIN = process.env.OPENAPI_TYPESCRIPT_BIN ?? path.join(ROOT, 'node_modules/.bin/openapi-typescript');
const script = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts[
  'gen:types'
]!;

describe('generated API types', () => {
  it('gen:types runs openapi-typescript on openapi.yaml into src/api/types.ts', () => {
    expect(script).toMatch(/^openapi-typescript openapi\.yaml -o src\/api\/types\.ts( |$)/);
  });

  it.skipIf(!fs.existsSync(BIN))(
    `src/api/types.ts is what gen:types generates from openapi.yaml now${fs.existsSync(BIN) ? '' : ` (skipped: ${BIN} is missing; run npm install)`}`,
    () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'themis-api-types-'));
      try {
        const out = path.join(dir, 'api-types.ts');
        const args = script
          .split(/\s+/)
          .slice(1)
          .map((a) => (a === 'src/api/types.ts' ? out : a));
        execFileSync(BIN, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
        expect(
          fs.readFileSync(out, 'utf8') === fs.readFileSync(COMMITTED, 'utf8'),
          'src/api/types.ts is stale: run npm run gen:types and commit it',
        ).toBe(true);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
