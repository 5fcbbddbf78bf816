import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, expectStatus, json, startServer, tempDir, type StartedServer } from '../helpers/server.js';

/**
 * HTTPS (THEMIS_TLS_CERT_FILE / THEMIS_TLS_KEY_FILE): with a self-signed
 * certificate made here, the server answers over TLS only (HTTP and
 * WebSocket), and refuses to start (exit 2) when the files are missing,
 * unreadable, mismatched or only one is given.
 */

let dir: string;
let certFile: string;
let keyFile: string;
let cert: string;
let s: StartedServer;

function selfSigned(into: string, name: string): { cert: string; key: string } {
  const c = path.join(into, `${name}.crt`);
  const k = path.join(into, `${name}.key`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      '/CN=localhost',
      '-days',
      '1',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout',
      k,
      '-out',
      c,
    ],
    { stdio: 'ignore' },
  );
  return { cert: c, key: k };
}

beforeAll(async () => {
  dir = tempDir('themis-tls-');
  ({ cert: certFile, key: keyFile } = selfSigned(dir, 'server'));
  cert = fs.readFileSync(certFile, 'utf8');
  s = await startServer({ env: { THEMIS_TLS_CERT_FILE: certFile, THEMIS_TLS_KEY_FILE: keyFile }, https: { ca: cert } });
});

afterAll(async () => {
  if (s) {
    expect(await s.stop()).toBe(0);
    fs.rmSync(s.dataDir, { recursive: true, force: true });
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

async function exitCode(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const srv = await startServer({ env, waitReady: false });
  const deadline = Date.now() + 10_000;
  while (srv.proc.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  const out = { code: srv.proc.exitCode, stderr: srv.stderr() };
  await srv.kill();
  fs.rmSync(srv.dataDir, { recursive: true, force: true });
  return out;
}

describe('HTTPS', () => {
  it('answers over TLS, verified against the test certificate', async () => {
    expect(s.base.startsWith('https://')).toBe(true);
    const r = await s.req('GET', '/health');
    await expectStatus(r, 200);
    // The peer is the certificate made here (not merely some certificate).
    const fingerprint = await new Promise<string>((resolve, reject) => {
      const q = https.get({ host: '127.0.0.1', port: s.port, path: '/health', ca: cert, agent: false }, (res) => {
        resolve((res.socket as import('node:tls').TLSSocket).getPeerCertificate().fingerprint256);
        res.resume();
      });
      q.on('error', reject);
    });
    expect(fingerprint).toBe(new crypto.X509Certificate(cert).fingerprint256);
  });

  it('an authenticated entity PUT and GET round trip', async () => {
    await expectStatus(await s.req('PUT', '/entities/tls:1', { blob: { secure: true } }), 201);
    const g = await s.req('GET', '/entities/tls:1');
    await expectStatus(g, 200);
    expect(JSON.stringify(await json(g))).toContain('secure');
    await expectStatus(await s.req('GET', '/entities/tls:1', undefined, { authorization: 'Bearer wrong-key-000000000000' }), 401);
  });

  it('a plain-HTTP request to the TLS port gets no HTTP answer', async () => {
    const outcome = await new Promise<string>((resolve) => {
      const q = http.get({ host: '127.0.0.1', port: s.port, path: '/health', agent: false, timeout: 5000 }, (res) => {
        res.resume();
        resolve(`status ${res.statusCode}`);
      });
      q.on('timeout', () => {
        q.destroy();
        resolve('timeout');
      });
      q.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    });
    expect(outcome.startsWith('status')).toBe(false);
  });

  it('WebSockets work over TLS (wss)', async () => {
    await expectStatus(await s.req('PUT', '/entities/tls:ws', { blob: {} }), 201);
    const msg = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const ws = new WebSocket(`wss://127.0.0.1:${s.port}/changefeed/ws?from_seq=0&keep_alive=false`, {
        headers: { authorization: `Bearer ${ADMIN_KEY}` },
        ca: cert,
      });
      ws.on('message', (d) => {
        resolve(JSON.parse(d.toString()) as Record<string, unknown>);
        ws.close();
      });
      ws.on('unexpected-response', (_req, res) => reject(new Error(`refused ${res.statusCode}`)));
      ws.on('error', reject);
    });
    expect(msg).toMatchObject({ type: 'change' });
  });
});

describe('TLS configuration is checked at start (exit 2)', () => {
  it('refuses a missing file, a lone setting, a non-certificate and a key of another certificate', async () => {
    const other = selfSigned(dir, 'other');
    const notPem = path.join(dir, 'not.pem');
    fs.writeFileSync(notPem, 'not a certificate\n');
    const cases: Record<string, string>[] = [
      { THEMIS_TLS_CERT_FILE: path.join(dir, 'missing.crt'), THEMIS_TLS_KEY_FILE: keyFile },
      { THEMIS_TLS_CERT_FILE: certFile, THEMIS_TLS_KEY_FILE: path.join(dir, 'missing.key') },
      { THEMIS_TLS_CERT_FILE: certFile },
      { THEMIS_TLS_KEY_FILE: keyFile },
      { THEMIS_TLS_CERT_FILE: notPem, THEMIS_TLS_KEY_FILE: keyFile },
      { THEMIS_TLS_CERT_FILE: certFile, THEMIS_TLS_KEY_FILE: notPem },
      { THEMIS_TLS_CERT_FILE: certFile, THEMIS_TLS_KEY_FILE: other.key },
    ];
    const results = await Promise.all(cases.map((env) => exitCode(env)));
    results.forEach((r, i) => {
      expect(r.code, JSON.stringify(cases[i])).toBe(2);
      expect(r.stderr).toMatch(/tls/i);
      // The key's content never reaches the output.
      expect(r.stderr).not.toContain('PRIVATE KEY');
    });
  });
});
