import { performance } from 'node:perf_hooks';
import { pinPlan, pinThread } from './cpu.js';
import { HttpConnection, type HttpReply } from './http-client.js';
import { nodeLoadResult, type LoadResult } from './load.js';

/**
 * Closed-loop JavaScript load driver for multi-request flows (explicit
 * transactions: begin → PUT … → commit, read-modify-write with retry on
 * 409). `clients` connections each run the flow back to back until the
 * duration is over; a flow in progress at the end is finished (or abandoned
 * by the flow itself via ctx.stopAt) so no request is cut off. The unit of
 * throughput is one completed flow (one committed transaction); its latency
 * runs from the flow's first request to its last response, retries included.
 */

export interface FlowContext {
  /** 0-based client (connection) number. */
  client: number;
  /** performance.now() after which a flow should give up retrying. */
  stopAt: number;
  /** Pre-rendered header lines for every request (authorization). */
  headers: string;
}

export interface FlowOutcome {
  /** HTTP requests the flow made. */
  requests: number;
  /** The unit of work completed (false: abandoned at stop time). */
  done: boolean;
  /** Expected 409 CONFLICT answers (aborted attempts) inside this flow. */
  conflicts?: number;
}

export type Flow = (conn: HttpConnection, ctx: FlowContext) => Promise<FlowOutcome>;

/** An unexpected HTTP status inside a flow (counted as non-2xx; the flow is abandoned). */
export class UnexpectedStatus extends Error {
  constructor(
    readonly what: string,
    readonly reply: HttpReply,
  ) {
    super(`${what}: HTTP ${reply.status}: ${reply.body.toString('utf8', 0, 300)}`);
  }
}

/** `reply` if its status is `status`, else throw UnexpectedStatus. */
export function expect(reply: HttpReply, status: number, what: string): HttpReply {
  if (reply.status !== status) throw new UnexpectedStatus(what, reply);
  return reply;
}

export interface FlowRunResult extends LoadResult {
  /** HTTP requests sent (all flows, including abandoned ones). */
  httpRequests: number;
  /** 409 answers (aborted attempts). */
  conflicts: number;
  /** Flows abandoned at stop time (retrying when the run ended). */
  abandoned: number;
  /** Most 409s one flow went through (the longest retry chain). */
  maxConflicts: number;
  /** First few unexpected answers, for the report. */
  samples: string[];
}

let pinned = false;

/** Keep the driver's event loop off the server's CPU (as autocannon is). */
export function pinDriver(): void {
  if (pinned) return;
  pinned = true;
  const plan = pinPlan();
  if (plan) pinThread(process.pid, plan.load);
}

export async function runFlows(opts: {
  base: string;
  clients: number;
  durationS: number;
  headers: string;
  flow: Flow;
}): Promise<FlowRunResult> {
  pinDriver();
  const u = new URL(opts.base);
  const host = u.hostname;
  const port = Number(u.port);
  const conns = await Promise.all(Array.from({ length: opts.clients }, () => HttpConnection.open(host, port)));
  const latencies: number[] = [];
  let httpRequests = 0;
  let conflicts = 0;
  let abandoned = 0;
  let maxConflicts = 0;
  let socketErrors = 0;
  let unexpected = 0;
  const unexpectedDetail: Record<string, number> = {};
  const samples: string[] = [];
  const started = performance.now();
  const stopAt = started + opts.durationS * 1000;
  let lastDone = started;

  const client = async (i: number): Promise<void> => {
    let conn = conns[i]!;
    const ctx: FlowContext = { client: i, stopAt, headers: opts.headers };
    while (performance.now() < stopAt) {
      const t0 = performance.now();
      try {
        const o = await opts.flow(conn, ctx);
        httpRequests += o.requests;
        conflicts += o.conflicts ?? 0;
        if ((o.conflicts ?? 0) > maxConflicts) maxConflicts = o.conflicts ?? 0;
        const t1 = performance.now();
        if (o.done) {
          latencies.push(t1 - t0);
          lastDone = Math.max(lastDone, t1);
        } else abandoned++;
      } catch (e) {
        if (e instanceof UnexpectedStatus) {
          unexpected++;
          const k = `${e.what} ${e.reply.status}`;
          unexpectedDetail[k] = (unexpectedDetail[k] ?? 0) + 1;
          if (samples.length < 5) samples.push(e.message);
        } else {
          socketErrors++;
          if (samples.length < 5) samples.push(`client ${i}: ${(e as Error).message}`);
        }
        if (!conn.alive) {
          try {
            conn = conns[i] = await HttpConnection.open(host, port);
          } catch (e2) {
            socketErrors++;
            if (samples.length < 5) samples.push(`client ${i}: reconnect failed: ${(e2 as Error).message}`);
            return;
          }
        }
      }
    }
  };
  await Promise.all(conns.map((_, i) => client(i)));
  for (const c of conns) c.close();
  const durationS = (Math.max(lastDone, stopAt) - started) / 1000;
  return {
    ...nodeLoadResult({
      latencies,
      durationS,
      toolVersion: `node ${process.version} raw-socket HTTP/1.1 driver (bench/lib/http-client.ts)`,
      errors: socketErrors,
      non2xx: unexpected,
      errorDetail: { socket: socketErrors, ...unexpectedDetail },
      raw: `${latencies.length} flows in ${durationS.toFixed(3)} s over ${opts.clients} connections; ${httpRequests} HTTP requests; ${conflicts} × 409; ${abandoned} abandoned at stop${samples.length > 0 ? `\nsamples:\n${samples.join('\n')}` : ''}`,
    }),
    httpRequests,
    conflicts,
    abandoned,
    maxConflicts,
    samples,
  };
}
