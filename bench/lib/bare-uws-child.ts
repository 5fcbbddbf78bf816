/**
 * Child-process entry: a bare uWebSockets.js server used as the throughput
 * ceiling. It answers every GET with BENCH_BARE_GET_BODY and every PUT (after
 * reading the whole request body) with BENCH_BARE_PUT_STATUS +
 * BENCH_BARE_PUT_BODY (bodies base64-encoded). Prints `LISTENING <port>`.
 */
import uWS from 'uWebSockets.js';

const getBody = Buffer.from(process.env.BENCH_BARE_GET_BODY ?? '', 'base64');
const putBody = Buffer.from(process.env.BENCH_BARE_PUT_BODY ?? '', 'base64');
const putStatus = process.env.BENCH_BARE_PUT_STATUS ?? '201 Created';
const port = Number(process.env.BENCH_BARE_PORT ?? '0');

uWS
  .App()
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
