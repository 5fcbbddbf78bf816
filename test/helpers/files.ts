import fs from 'node:fs';
import path from 'node:path';

/** Every file under `dir` (recursively) as one buffer: what a test greps for values that must never be stored in clear. */
export function dataBytes(dir: string): Buffer {
  const out: Buffer[] = [];
  const walk = (d: string) => {
    for (const f of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, f.name);
      if (f.isDirectory()) walk(p);
      else out.push(fs.readFileSync(p));
    }
  };
  walk(dir);
  return Buffer.concat(out);
}
