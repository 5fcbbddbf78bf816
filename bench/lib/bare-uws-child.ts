/**
 * Child-process entry: a bare uWebSockets.js server used as the throughput
 * ceiling. It answers every GET with BENCH_BARE_GET_BODY and every PUT (after
 * reading the whole request body) with BENCH_BARE_PUT_STATUS +
 * BENCH_BARE_PUT_BODY (bodies base64-encoded). BENCH_BARE_ROUTES (JSON
 * array of {method, path, status, body(base64)}) adds exact routes answered
 * the same way (body read first), e.g. POST /transaction. Prints
 * `LISTENING <port>`.
 */
import uWS from 'uWebSockets.js';

interface ExtraRoute {
  method: string;
  path: string;
  status: string;
  body: string;
}

const getBody = Buffer.from(process.env.BENCH_BARE_GET_BODY ?? '', 'base64');
const putBody = Buffer.from(process.env.BENCH_BARE_PUT_BODY ?? '', 'base64');
const putStatus = process.env.BENCH_BARE_PUT_STATUS ?? '201 Created';
const port = Number(process.env.BENCH_BARE_PORT ?? '0');

const routes = JSON.parse(process.env.BENCH_BARE_ROUTES || '[]') as ExtraRoute[];

/** Read the whole request body, then answer with fixed bytes. */
function answerAfterBody(status: string, body: Buffer) {
  return (res: uWS.HttpResponse) => {
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    res.onData((_chunk, isLast) => {
      if (!isLast || aborted) return;
      res.cork(() => {
        res.writeStatus(status).writeHeader('Content-Type', 'application/json').end(body);
      });
    });
  };
}

const app = uWS.App();
for (const r of routes) {
  const bytes = Buffer.from(r.body, 'base64');
  const handler = answerAfterBody(r.status, bytes);
  const m = r.method.toUpperCase();
  if (m === 'GET') app.get(r.path, (res) => void res.writeStatus(r.status).writeHeader('Content-Type', 'application/json').end(bytes));
  else if (m === 'PUT') app.put(r.path, handler);
  else if (m === 'POST') app.post(r.path, handler);
  else if (m === 'DELETE') app.del(r.path, handler);
}

app
  .get('/*', (res) => {
    res.writeStatus('200 OK').writeHeader('Content-Type', 'application/json').end(getBody);
  })
  .put('/*', (res) => {
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    res.onData((_chunk, isLast) => {
      if (!isLast || aborted) return;
      res.cork(() => {
        res.writeStatus(putStatus).writeHeader('Content-Type', 'application/json').end(putBody);
      });
    });
  })
  .listen('127.0.0.1', port, (s) => {
    if (!s) {
      process.stderr.write(`bare uWS: cannot listen on ${port}\n`);
      process.exit(1);
    }
    process.stdout.write(`LISTENING ${uWS.us_socket_local_port(s as never)}\n`);
  });

process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
