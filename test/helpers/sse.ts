import http from 'node:http';

export interface SseEvent {
  id?: string;
  event?: string;
  data?: string;
  at: number;
}

export interface SseClient {
  status: number;
  headers: http.IncomingHttpHeaders;
  events: SseEvent[];
  comments: string[];
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  /** Resolves with the first event matching `pred` (rejects after timeoutMs). */
  waitFor(pred: (e: SseEvent) => boolean, timeoutMs?: number): Promise<SseEvent>;
  close(): void;
  /** For error responses: the body. */
  body: string;
}

/** A minimal SSE client over node:http that records every event with its arrival time. */
export function openSse(port: number, path: string, headers: Record<string, string>): Promise<SseClient> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      const c: SseClient = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        events: [],
        comments: [],
        body: '',
        ended: new Promise<void>((r) => {
          res.on('end', r);
          res.on('close', r);
        }),
        waitFor: (pred, timeoutMs = 5000) =>
          new Promise((ok, fail) => {
            const found = c.events.find(pred);
            if (found) return ok(found);
            const t = setTimeout(
              () => fail(new Error(`no matching SSE event within ${timeoutMs} ms; got ${JSON.stringify(c.events)}`)),
              timeoutMs,
            );
            listeners.push((e) => {
              if (pred(e)) {
                clearTimeout(t);
                ok(e);
                return true;
              }
              return false;
            });
          }),
        close: () => req.destroy(),
      };
      const listeners: ((e: SseEvent) => boolean)[] = [];
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (c.status !== 200) {
          c.body += chunk;
          return;
        }
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const e: SseEvent = { at: performance.now() };
          let isEvent = false;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) c.comments.push(line.slice(1).trim());
            else if (line.startsWith('id: ')) (e.id = line.slice(4)), (isEvent = true);
            else if (line.startsWith('event: ')) (e.event = line.slice(7)), (isEvent = true);
            else if (line.startsWith('data: ')) (e.data = line.slice(6)), (isEvent = true);
          }
          if (isEvent) {
            c.events.push(e);
            for (let k = listeners.length - 1; k >= 0; k--) if (listeners[k]!(e)) listeners.splice(k, 1);
          }
        }
      });
      resolve(c);
    });
    req.on('error', reject);
  });
}
