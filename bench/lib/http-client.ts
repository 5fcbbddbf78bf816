import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { StringDecoder } from 'node:string_decoder';

/**
 * A minimal HTTP/1.1 keep-alive client over one raw TCP socket, for bench
 * drivers that script multi-request flows (begin → PUT → commit) or pace
 * writes open-loop, where wrk's per-thread Lua state cannot follow one
 * connection's conversation. One request in flight per connection (no
 * pipelining), like wrk/autocannon with pipelining 1. It costs a fraction of
 * the CPU of fetch/undici per request, which matters on a 2-core machine
 * where the driver shares the CPUs with the server.
 *
 * Responses must carry Content-Length or use chunked encoding (uWS does one
 * of the two). Times are `performance.now()` milliseconds of this process.
 */
export interface HttpReply {
  status: number;
  body: Buffer;
  /** performance.now() when the request was written. */
  sentAt: number;
  /** performance.now() when the complete response had arrived. */
  doneAt: number;
}

interface Pending {
  resolve: (r: HttpReply) => void;
  reject: (e: Error) => void;
  sentAt: number;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');

export class HttpConnection {
  private buf: Buffer = Buffer.alloc(0);
  private pending: Pending | undefined;
  private dead: Error | undefined;
  /** Head of the current response, once parsed. */
  private head: { status: number; headerEnd: number; length: number; chunked: boolean } | undefined;

  private constructor(
    private readonly socket: net.Socket,
    readonly hostHeader: string,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (c: Buffer) => this.onData(c));
    socket.on('error', (e) => this.die(e));
    socket.on('close', () => this.die(new Error('connection closed by server')));
  }

  static open(host: string, port: number): Promise<HttpConnection> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host, port });
      s.once('connect', () => {
        s.removeListener('error', reject);
        resolve(new HttpConnection(s, `${host}:${port}`));
      });
      s.once('error', reject);
    });
  }

  get alive(): boolean {
    return this.dead === undefined;
  }

  get busy(): boolean {
    return this.pending !== undefined;
  }

  /**
   * Send one request. `headers` is a pre-rendered block of header lines, each
   * ending in \r\n (e.g. "Authorization: Bearer x\r\n"); Host and
   * Content-Length are added here.
   */
  request(method: string, path: string, headers: string, body?: string): Promise<HttpReply> {
    if (this.dead) return Promise.reject(this.dead);
    if (this.pending) return Promise.reject(new Error('HttpConnection: a request is already in flight'));
    return new Promise<HttpReply>((resolve, reject) => {
      const len = body === undefined ? 0 : Buffer.byteLength(body);
      const req = `${method} ${path} HTTP/1.1\r\nHost: ${this.hostHeader}\r\n${headers}${body !== undefined || method !== 'GET' ? `Content-Length: ${len}\r\n` : ''}\r\n${body ?? ''}`;
      this.pending = { resolve, reject, sentAt: performance.now() };
      this.socket.write(req);
    });
  }

  close(): void {
    this.dead ??= new Error('connection closed');
    this.socket.destroy();
  }

  private die(e: Error): void {
    this.dead ??= e;
    const p = this.pending;
    this.pending = undefined;
    p?.reject(e);
  }

  private onData(c: Buffer): void {
    const now = performance.now();
    this.buf = this.buf.length === 0 ? c : Buffer.concat([this.buf, c]);
    for (;;) {
      if (!this.head) {
        const end = this.buf.indexOf(CRLFCRLF);
        if (end < 0) return;
        const text = this.buf.toString('latin1', 0, end);
        const status = Number(text.slice(9, 12));
        const lower = text.toLowerCase();
        const cl = /\r\ncontent-length:\s*(\d+)/.exec(lower);
        const chunked = /\r\ntransfer-encoding:\s*chunked/.test(lower);
        this.head = { status, headerEnd: end + 4, length: cl ? Number(cl[1]) : 0, chunked };
      }
      const h = this.head;
      let body: Buffer;
      let consumed: number;
      if (h.chunked) {
        const r = dechunkComplete(this.buf, h.headerEnd);
        if (!r) return;
        body = r.body;
        consumed = r.end;
      } else {
        if (this.buf.length < h.headerEnd + h.length) return;
        body = this.buf.subarray(h.headerEnd, h.headerEnd + h.length);
        consumed = h.headerEnd + h.length;
      }
      this.head = undefined;
      this.buf = this.buf.subarray(consumed);
      const p = this.pending;
      this.pending = undefined;
      if (!p) {
        this.die(new Error(`unsolicited response (status ${h.status})`));
        return;
      }
      p.resolve({ status: h.status, body, sentAt: p.sentAt, doneAt: now });
      if (this.buf.length === 0) return;
    }
  }
}

/** A complete chunked body starting at `from`, or undefined if more bytes are needed. */
function dechunkComplete(buf: Buffer, from: number): { body: Buffer; end: number } | undefined {
  const parts: Buffer[] = [];
  let i = from;
  for (;;) {
    const eol = buf.indexOf('\r\n', i);
    if (eol < 0) return undefined;
    const size = parseInt(buf.toString('latin1', i, eol), 16);
    if (size === 0) {
      // Last chunk, no trailers expected: "0\r\n\r\n".
      if (buf.length < eol + 4) return undefined;
      return { body: Buffer.concat(parts), end: eol + 4 };
    }
    if (buf.length < eol + 2 + size + 2) return undefined;
    parts.push(buf.subarray(eol + 2, eol + 2 + size));
    i = eol + 2 + size + 2;
  }
}

// ------------------------------------------------------------------ SSE

export interface SseEvent {
  id?: string;
  event?: string;
  data: string;
}

export interface SseHandlers {
  /** One complete event; `at` = performance.now() when the bytes carrying its end arrived. */
  onEvent(e: SseEvent, at: number): void;
  /** A comment line (": heartbeat", ": connected ..."). */
  onComment?(text: string, at: number): void;
  /** The stream ended (server closed or error). */
  onEnd?(reason: string): void;
}

/**
 * A Server-Sent Events reader over a raw socket: decodes chunked transfer
 * encoding and the SSE framing incrementally, and timestamps every event
 * with the arrival time of the TCP data that completed it (no buffering
 * between socket and timestamp beyond the event loop turn).
 */
export class SseClient {
  private buf: Buffer = Buffer.alloc(0);
  private headDone = false;
  private chunked = false;
  /** Chunked decoding: expecting a size line, payload bytes (chunkLeft of them), or the CRLF after them. */
  private chunkState: 'size' | 'data' | 'crlf' = 'size';
  private chunkLeft = 0;
  private text = '';
  private readonly decoder = new StringDecoder('utf8');
  private ended = false;
  status = 0;
  /** Bytes of event-stream payload received. */
  bytes = 0;

  private constructor(
    private readonly socket: net.Socket,
    private readonly handlers: SseHandlers,
    private readonly onHead: (status: number, head: string) => void,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (c: Buffer) => this.onData(c));
    socket.on('error', (e) => this.end(`socket error: ${e.message}`));
    socket.on('close', () => this.end('closed'));
  }

  /** Connect and send the GET; resolves once the response head arrived (rejects on non-200). */
  static open(host: string, port: number, path: string, headers: string, handlers: SseHandlers): Promise<SseClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host, port });
      let client: SseClient | undefined;
      s.once('error', reject);
      s.once('connect', () => {
        s.removeListener('error', reject);
        client = new SseClient(s, handlers, (status, head) => {
          if (status === 200) resolve(client!);
          else {
            s.destroy();
            reject(new Error(`SSE: HTTP ${status}\n${head}`));
          }
        });
        s.write(`GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nAccept: text/event-stream\r\n${headers}\r\n`);
      });
    });
  }

  close(): void {
    this.ended = true;
    this.socket.destroy();
  }

  private end(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.handlers.onEnd?.(reason);
  }

  private onData(c: Buffer): void {
    const at = performance.now();
    this.buf = this.buf.length === 0 ? c : Buffer.concat([this.buf, c]);
    if (!this.headDone) {
      const end = this.buf.indexOf(CRLFCRLF);
      if (end < 0) return;
      const head = this.buf.toString('latin1', 0, end);
      this.status = Number(head.slice(9, 12));
      this.chunked = /\r\ntransfer-encoding:\s*chunked/i.test(head);
      this.headDone = true;
      this.buf = this.buf.subarray(end + 4);
      this.onHead(this.status, head);
      if (this.status !== 200) return;
    }
    if (!this.chunked) {
      this.feed(this.decoder.write(this.buf), at);
      this.buf = Buffer.alloc(0);
      return;
    }
    // Chunked: take whole or partial chunks as they come.
    for (;;) {
      if (this.chunkState === 'size') {
        const eol = this.buf.indexOf('\r\n');
        if (eol < 0) return;
        const size = parseInt(this.buf.toString('latin1', 0, eol), 16);
        this.buf = this.buf.subarray(eol + 2);
        if (size === 0) {
          this.end('server ended the stream');
          return;
        }
        this.chunkLeft = size;
        this.chunkState = 'data';
      }
      if (this.chunkState === 'data') {
        if (this.buf.length === 0) return;
        const n = Math.min(this.chunkLeft, this.buf.length);
        this.feed(this.decoder.write(this.buf.subarray(0, n)), at);
        this.buf = this.buf.subarray(n);
        this.chunkLeft -= n;
        if (this.chunkLeft > 0) return;
        this.chunkState = 'crlf';
      }
      // The CRLF after a chunk's payload.
      if (this.buf.length < 2) return;
      this.buf = this.buf.subarray(2);
      this.chunkState = 'size';
    }
  }

  private feed(s: string, at: number): void {
    this.bytes += s.length;
    this.text += s;
    let sep: number;
    while ((sep = this.text.indexOf('\n\n')) >= 0) {
      const block = this.text.slice(0, sep);
      this.text = this.text.slice(sep + 2);
      let data: string[] | undefined;
      let id: string | undefined;
      let event: string | undefined;
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) this.handlers.onComment?.(line.slice(1).trim(), at);
        else if (line.startsWith('data:')) (data ??= []).push(line.slice(line[5] === ' ' ? 6 : 5));
        else if (line.startsWith('id:')) id = line.slice(line[3] === ' ' ? 4 : 3);
        else if (line.startsWith('event:')) event = line.slice(line[6] === ' ' ? 7 : 6);
      }
      if (data !== undefined)
        this.handlers.onEvent(
          { ...(id !== undefined ? { id } : {}), ...(event !== undefined ? { event } : {}), data: data.join('\n') },
          at,
        );
    }
  }
}
