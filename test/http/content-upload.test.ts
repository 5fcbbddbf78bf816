import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyspace } from '../../src/storage/index.js';
import { openDb } from '../helpers/inproc.js';
import { ADMIN_KEY, call, type StartedServer, sleep, startServer, waitUntil } from '../helpers/server.js';

/**
 * Streamed blob upload (issue 18, "Large blobs"): 200 MB through PUT
 * /content/{id}/blob with the server's RSS sampled throughout (bounded far
 * below the blob), the bytes read back by their sha256, an upload over
 * THEMIS_MAX_BLOB_BYTES refused with 413, and an upload the client cuts
 * short leaving no piece behind.
 */

const MB = 1024 * 1024;

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** Deterministic pseudo-random bytes, chunk by chunk (not compressible, not held in memory as a whole). */
function chunkOf(i: number, size: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  let x = (i * 2654435761) >>> 0 || 1;
  for (let o = 0; o < size; o += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b.writeUInt32LE(x >>> 0, o);
  }
  return b;
}

/**
 * PUT `total` bytes in 1 MiB chunks with backpressure. `abortAfter` bytes: destroy the request there.
 * `chunked`: no Content-Length (the server learns the size as it arrives). `declareOnly`: send the
 * headers (with the Content-Length) and wait for the answer without sending the body.
 */
function upload(
  s: StartedServer,
  id: string,
  total: number,
  o: { abortAfter?: number; chunked?: boolean; declareOnly?: boolean } = {},
): Promise<{ status: number; body: string; sha: string }> {
  const { abortAfter } = o;
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    let answered = false;
    const req = http.request(
      {
        host: '127.0.0.1',
        port: s.port,
        method: 'PUT',
        path: `/content/${id}/blob`,
        headers: {
          authorization: `Bearer ${ADMIN_KEY}`,
          'content-type': 'application/octet-stream',
          ...(o.chunked ? {} : { 'content-length': String(total) }),
        },
      },
      (res) => {
        answered = true;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, sha: hash.digest('hex') }));
      },
    );
    req.on('error', (e) => {
      // A server that answers early (413) and closes: the write fails after the answer arrived.
      if (answered) return;
      if (abortAfter !== undefined) resolve({ status: 0, body: String(e), sha: '' });
      else reject(e);
    });
    if (o.declareOnly) {
      req.flushHeaders();
      return;
    }
    let sent = 0;
    let i = 0;
    const pump = () => {
      while (sent < total && !answered) {
        if (abortAfter !== undefined && sent >= abortAfter) {
          req.destroy();
          return;
        }
        const c = chunkOf(i++, Math.min(MB, total - sent));
        hash.update(c);
        sent += c.length;
        if (!req.write(c)) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

describe('streamed blob upload', () => {
  let s: StartedServer;
  beforeAll(async () => {
    s = await startServer({ env: { THEMIS_MAX_BLOB_BYTES: String(300 * MB) } });
  });
  afterAll(async () => {
    await s?.stop();
    if (s) fs.rmSync(s.dataDir, { recursive: true, force: true });
  });

  it('takes 200 MB with bounded server memory and serves the same bytes back', async () => {
    const pid = s.proc.pid!;
    await sleep(200);
    const before = rssOf(pid);
    let peak = before;
    const timer = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 25);
    let r: Awaited<ReturnType<typeof upload>>;
    try {
      r = await upload(s, 'big', 200 * MB);
    } finally {
      clearInterval(timer);
    }
    expect(r.status, r.body).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ content_id: 'big', size_bytes: 200 * MB, hash_sha256: r.sha, created: true });
    // The server held far less than the blob (LevelDB's write buffers and block cache included).
    expect(peak - before).toBeLessThan(120 * MB);

    const res = await fetch(`${s.base}/content/big/blob`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(res.headers.get('content-length')).toBe(String(200 * MB));
    const h = createHash('sha256');
    let n = 0;
    for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) {
      h.update(c);
      n += c.length;
    }
    expect(n).toBe(200 * MB);
    expect(h.digest('hex')).toBe(r.sha);
  }, 180_000);

  it('refuses a blob over THEMIS_MAX_BLOB_BYTES with 413, by its Content-Length or while it arrives', async () => {
    const declared = await upload(s, 'toolarge', 301 * MB, { declareOnly: true });
    expect(declared.status).toBe(413);
    expect(JSON.parse(declared.body)).toMatchObject({ error: true, status_code: 413, code: 'PAYLOAD_TOO_LARGE' });
    const growing = await upload(s, 'toolarge', 301 * MB, { chunked: true });
    expect(growing.status).toBe(413);
    expect(JSON.parse(growing.body)).toMatchObject({ error: true, status_code: 413, code: 'PAYLOAD_TOO_LARGE', field: 'blob' });
    expect((await call(s, 'GET', '/content/toolarge')).status).toBe(404);
  }, 60_000);

  it('an upload cut short stores nothing and leaves no piece behind', async () => {
    const r = await upload(s, 'cut', 50 * MB, { abortAfter: 20 * MB });
    expect(r.status).toBe(0);
    // The server notices the closed connection and discards what it staged.
    await waitUntil(
      () => call(s, 'GET', '/content/cut'),
      (x) => x.status === 404,
    );
    await sleep(500);
    await s.stop();
    const db = await openDb(s.dataDir);
    try {
      let staged = 0;
      for await (const [k] of db.engine.scan(keyspace('content'))) if (k[0] === 0x75) staged++;
      expect(staged).toBe(0);
      let pieces = 0;
      for await (const [k] of db.engine.scan(keyspace('content'))) if (k[0] === 0x62) pieces++;
      // Only the 200 MB blob's 800 pieces remain.
      expect(pieces).toBe(800);
    } finally {
      await db.close();
    }
    s = await startServer({ dataDir: s.dataDir, env: { THEMIS_MAX_BLOB_BYTES: String(300 * MB) } });
  }, 120_000);
});
