import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../../test/helpers/server.js';

/**
 * clients/typescript/src/schema.ts is generated from openapi.yaml by the client's `gen:types`
 * script (openapi-typescript; `npm run gen:client-types` at the root) and committed. Regenerate it
 * with the script's own command line into a temporary file and compare, so a change of openapi.yaml
 * without regenerated client types fails here (as test/unit/api-types.test.ts does for src/api/types.ts).
 */

const CLIENT = path.join(ROOT, 'clients/typescript');
const COMMITTED = path.join(CLIENT, 'src/schema.ts');
const BIN = process.env.OPENAPI_TYPESCRIPT_BIN ?? path.join(ROOT, 'node_modules/.bin/openapi-typescript');
const script = (JSON.parse(fs.readFileSync(path.join(CLIENT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts[
  'gen:types'
]!;

describe('generated client types', () => {
  it('gen:types runs openapi-typescript on the root openapi.yaml into src/schema.ts', () => {
    expect(script).toMatch(/^openapi-typescript \.\.\/\.\.\/openapi\.yaml -o src\/schema\.ts( |$)/);
  });

  it.skipIf(!fs.existsSync(BIN))('src/schema.ts is what gen:types generates from openapi.yaml now', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'themis-client-schema-'));
    try {
      const out = path.join(dir, 'schema.ts');
      const args = script
        .split(/\s+/)
        .slice(1)
        .map((a) => (a === 'src/schema.ts' ? out : a));
      execFileSync(BIN, args, { cwd: CLIENT, stdio: ['ignore', 'ignore', 'pipe'] });
      expect(
        fs.readFileSync(out, 'utf8') === fs.readFileSync(COMMITTED, 'utf8'),
        'clients/typescript/src/schema.ts is stale: run npm run gen:client-types and commit it',
      ).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
