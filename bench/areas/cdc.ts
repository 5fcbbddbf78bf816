import { performance } from 'node:perf_hooks';
import { startBareUws, type BareUws } from '../lib/bare-uws.js';
import { pinDriver } from '../lib/flows.js';
import { HttpConnection, SseClient, type SseEvent } from '../lib/http-client.js';
import { nodeLoadResult, type LoadResult } from '../lib/load.js';
import { applyBaselines, runScenario } from '../lib/scenario.js';
import { AUTH_HEADER, startThemis, type ThemisServer } from '../lib/server.js';
import { r3, summarize, type Summary } from '../lib/stats.js';
import type { Area, ScenarioResult } from '../lib/types.js';
import { log, sleep } from '../lib/util.js';

const AUTH_LINE = `Authorization: ${AUTH_HEADER}\r\n`;
const PUT_HEADERS = `${AUTH_LINE}Content-Type: application/json\r\n`;
const PAD = 'x'.repeat(48);
/** How long after the last write's ack the reader may take to receive every event before they count as lost. */
const DRAIN_TIMEOUT_MS = 5000;

/**
 * One batch of writes (a warm-up or a measured run) and what happened to
 * each: indexes are the write number `i` in key `cdc:<tag>-<i>`. All times
 * are performance.now() of this process (writer and SSE reader alike).
 */
class Phase {
  /** Scheduled send time (open loop), NaN for closed loop. */
  readonly sched: number[] = [];
  readonly sent: number[] = [];
  readonly ack: number[] = [];
  readonly status: number[] = [];
  /** Arrival of the SSE event for write i. */
  readonly recv: number[] = [];
  /** The send timestamp carried in the blob, as read back from the event's new_val. */
  readonly blobT: number[] = [];
  n = 0;
  delivered = 0;
  duplicates = 0;
  socketErrors = 0;
  lastAck = 0;
  lastRecv = 0;
  writerStart = 0;
  writerEnd = 0;
  /** Time from the last ack until every acknowledged write had been delivered (or the timeout). */
  drainMs = NaN;
  constructor(
    readonly tag: string,
    readonly prefix: string,
  ) {}

  written(): number {
    let w = 0;
    for (let i = 0; i < this.n; i++) if (this.status[i] === 201) w++;
    return w;
  }
}

/** PUT /entities/<prefix><i> with a blob carrying the send timestamp. */
function sendWrite(conn: HttpConnection, ph: Phase, i: number): Promise<void> {
  const t = performance.now();
  ph.sent[i] = t;
  const body = `{"blob":{"i":${i},"t":${t.toFixed(3)},"pad":"${PAD}"}}`;
  return conn.request('PUT', `/entities/${ph.prefix}${i}`, PUT_HEADERS, body).then(
    (r) => {
      ph.ack[i] = r.doneAt;
      ph.status[i] = r.status;
      if (r.doneAt > ph.lastAck) ph.lastAck = r.doneAt;
    },
    () => {
      ph.status[i] = 0;
      ph.socketErrors++;
    },
  );
}

/**
 * Open-loop writer: write i is due at t0 + i/rate whether or not earlier
 * writes were answered (no coordinated omission). A 1 ms timer releases
 * what is due; a due write goes out on a free connection at once, or waits
 * for the next connection to come free (the lag is reported).
 */
function pacedWriter(conns: HttpConnection[], ph: Phase, rate: number, durationS: number): Promise<void> {
  const total = Math.round(rate * durationS);
  const interval = 1000 / rate;
  const free = [...conns];
  const backlog: number[] = [];
  let issued = 0;
  let finished = 0;
  const t0 = performance.now() + 1;
  ph.writerStart = t0;
  return new Promise((resolve) => {
    const launch = (conn: HttpConnection, i: number) => {
      void sendWrite(conn, ph, i).then(() => {
        finished++;
        if (conn.alive) {
          const next = backlog.shift();
          if (next !== undefined) launch(conn, next);
          else free.push(conn);
        }
        if (finished === total) {
          ph.writerEnd = performance.now();
          resolve();
        }
      });
    };
    const tick = () => {
      const now = performance.now();
      while (issued < total && t0 + issued * interval <= now) {
        const i = issued++;
        ph.n = issued;
        ph.sched[i] = t0 + i * interval;
        const c = free.pop();
        if (c) launch(c, i);
        else backlog.push(i);
      }
      if (issued < total) setTimeout(tick, Math.max(0, t0 + issued * interval - performance.now()));
    };
    tick();
  });
}

/** Closed-loop writer: every connection writes back to back for durationS (the maximum rate). */
async function closedLoopWriter(conns: HttpConnection[], ph: Phase, durationS: number): Promise<void> {
  ph.writerStart = performance.now();
  const stopAt = ph.writerStart + durationS * 1000;
  await Promise.all(
    conns.map(async (conn) => {
      while (performance.now() < stopAt && conn.alive) {
        const i = ph.n++;
        ph.sched[i] = NaN;
        await sendWrite(conn, ph, i);
      }
    }),
  );
  ph.writerEnd = performance.now();
}

/** Wait until every acknowledged write's event arrived, or DRAIN_TIMEOUT_MS after the last ack. */
async function drain(ph: Phase): Promise<void> {
  const written = ph.written();
  const deadline = performance.now() + DRAIN_TIMEOUT_MS;
  while (ph.delivered < written && performance.now() < deadline) await sleep(5);
  ph.drainMs = Math.max(0, ph.lastRecv - ph.lastAck);
}

/**
 * The SSE reader: one /changefeed/stream connection; routes every event to
 * its phase by key, checks that ids are consecutive (only this bench
 * writes), counts duplicates and strays.
 */
class Reader {
  private readonly phases = new Map<string, Phase>();
  private client: SseClient | undefined;
  lastId = -1;
  events = 0;
  gaps = 0;
  strays = 0;
  errorEvents: string[] = [];
  ended: string | undefined;

  register(ph: Phase): void {
    this.phases.set(ph.tag, ph);
  }

  async open(server: ThemisServer): Promise<void> {
    const stats = (await (await server.req('GET', '/changefeed/stats')).json()) as { last_seq: number };
    this.lastId = stats.last_seq;
    const u = new URL(server.base);
    let connected: () => void = () => {};
    const ready = new Promise<void>((r) => (connected = r));
    this.client = await SseClient.open(
      u.hostname,
      Number(u.port),
      `/changefeed/stream?from_seq=${stats.last_seq}&max_seconds=60&heartbeat_ms=1000`,
      AUTH_LINE,
      {
        onEvent: (e, at) => this.onEvent(e, at),
        onComment: (text) => {
          if (text.startsWith('connected')) connected();
        },
        onEnd: (reason) => {
          this.ended = reason;
        },
      },
    );
    await ready;
  }

  close(): void {
    this.client?.close();
  }

  private onEvent(e: SseEvent, at: number): void {
    if (e.event === 'error') {
      this.errorEvents.push(e.data);
      return;
    }
    this.events++;
    const id = Number(e.id);
    if (id !== this.lastId + 1) this.gaps++;
    this.lastId = id;
    const d = JSON.parse(e.data) as { key: string; sequence: number; new_val: string | null };
    if (d.sequence !== id) this.gaps++;
    const colon = d.key.indexOf(':');
    const dash = d.key.lastIndexOf('-');
    const ph = this.phases.get(d.key.slice(colon + 1, dash));
    if (!ph || !d.key.startsWith(ph.prefix)) {
      this.strays++;
      return;
    }
    const i = Number(d.key.slice(dash + 1));
    if (ph.recv[i] !== undefined) {
      ph.duplicates++;
      return;
    }
    ph.recv[i] = at;
    const nv =
      d.new_val === null
        ? undefined
        : (JSON.parse(typeof d.new_val === 'string' ? d.new_val : JSON.stringify(d.new_val)) as { t?: number });
    ph.blobT[i] = nv?.t ?? NaN;
    ph.delivered++;
    if (at > ph.lastRecv) ph.lastRecv = at;
  }
}

interface PhaseReport {
  load: LoadResult;
  metrics: Record<string, number>;
  ack: Summary;
  deliverVsAck?: Summary;
  deliverVsSend?: Summary;
  sendLag?: Summary;
  beforeAck?: number;
  problems: string[];
  warnings: string[];
}

function report(ph: Phase, opts: { durationS: number; rate?: number; sse: boolean }): PhaseReport {
  const ackLat: number[] = [];
  const dAck: number[] = [];
  const dSend: number[] = [];
  const lag: number[] = [];
  let written = 0;
  let non201 = 0;
  let lost = 0;
  let beforeAck = 0;
  let blobMismatch = 0;
  for (let i = 0; i < ph.n; i++) {
    const st = ph.status[i];
    if (st === 201) written++;
    else if (st !== 0) non201++;
    if (!Number.isNaN(ph.sched[i]!) && ph.sched[i] !== undefined) lag.push(ph.sent[i]! - ph.sched[i]!);
    if (ph.ack[i] !== undefined) ackLat.push(ph.ack[i]! - ph.sent[i]!);
    if (!opts.sse || st !== 201) continue;
    const rv = ph.recv[i];
    if (rv === undefined) {
      lost++;
      continue;
    }
    const da = rv - ph.ack[i]!;
    dAck.push(da);
    if (da < 0) beforeAck++;
    const bt = ph.blobT[i]!;
    dSend.push(rv - bt);
    if (Math.abs(bt - ph.sent[i]!) > 0.01) blobMismatch++;
  }
  const ack = summarize(ackLat);
  const durationS = opts.rate !== undefined ? opts.durationS : (ph.writerEnd - ph.writerStart) / 1000;
  const load: LoadResult = nodeLoadResult({
    latencies: ackLat,
    requests: written,
    durationS,
    toolVersion: `node ${process.version} raw-socket HTTP/1.1 writer + SSE reader (bench/lib/http-client.ts)`,
    errors: ph.socketErrors,
    non2xx: non201,
    errorDetail: { socket: ph.socketErrors, non201 },
    raw: `${ph.n} writes issued, ${written} acknowledged 201, ${ph.delivered} delivered over SSE, ${lost} lost, ${ph.duplicates} duplicates`,
  });
  const problems: string[] = [];
  const warnings: string[] = [];
  const metrics: Record<string, number> = {
    target_writes_per_s: opts.rate ?? 0,
    achieved_writes_per_s: r3(load.rps),
    written,
    ack_p50_ms: r3(ack.p50),
    ack_p99_ms: r3(ack.p99),
    ack_max_ms: r3(ack.max),
  };
  let sendLag: Summary | undefined;
  if (lag.length > 0) {
    sendLag = summarize(lag);
    metrics.send_lag_p99_ms = r3(sendLag.p99);
    metrics.send_lag_max_ms = r3(sendLag.max);
    if (sendLag.p99 > 5)
      warnings.push(
        `the open-loop writer fell behind its schedule (send lag p99 ${sendLag.p99.toFixed(1)} ms, max ${sendLag.max.toFixed(1)} ms): the offered rate was not exactly ${opts.rate}/s`,
      );
  }
  const out: PhaseReport = { load, metrics, ack, problems, warnings, ...(sendLag ? { sendLag } : {}) };
  if (opts.sse) {
    const da = summarize(dAck);
    const ds = summarize(dSend);
    Object.assign(metrics, {
      delivered: ph.delivered,
      lost,
      duplicates: ph.duplicates,
      deliver_minus_ack_p50_ms: r3(da.p50),
      deliver_minus_ack_p90_ms: r3(da.p90),
      deliver_minus_ack_p99_ms: r3(da.p99),
      deliver_minus_ack_max_ms: r3(da.max),
      deliver_minus_ack_min_ms: r3(da.min),
      deliver_minus_send_p50_ms: r3(ds.p50),
      deliver_minus_send_p99_ms: r3(ds.p99),
      deliver_minus_send_max_ms: r3(ds.max),
      deliver_minus_send_over_ack_p50: r3(ds.p50 / ack.p50),
      deliver_minus_send_over_ack_p99: r3(ds.p99 / ack.p99),
      events_before_ack: beforeAck,
      events_before_ack_share: r3(dAck.length > 0 ? beforeAck / dAck.length : 0),
      drain_after_last_ack_ms: r3(ph.drainMs),
    });
    out.deliverVsAck = da;
    out.deliverVsSend = ds;
    out.beforeAck = beforeAck;
    if (lost > 0)
      problems.push(
        `LOST EVENTS: ${lost} of ${written} acknowledged writes never arrived on the SSE stream within ${DRAIN_TIMEOUT_MS} ms of the last ack`,
      );
    if (ph.duplicates > 0) problems.push(`${ph.duplicates} duplicate SSE events`);
    if (blobMismatch > 0) problems.push(`${blobMismatch} events carried a send timestamp that differs from the writer's record`);
  }
  return out;
}

/**
 * Change feed: commit → SSE delivery latency at fixed write rates (open
 * loop) with the writer's own PUT acknowledgement as the reference, next
 * to the same writer against a bare uWS server (the round-trip floor), plus
 * the maximum write rate with and without one SSE subscriber.
 */
export const cdcArea: Area = {
  name: 'cdc',
  description:
    'commit → SSE delivery latency (p50/p99) at 1k and 5k writes/s vs the PUT ack and a bare uWS round trip; max write rate with/without a subscriber (durability sync)',
  async run({ settings }) {
    pinDriver();
    const results: ScenarioResult[] = [];
    const reports = new Map<string, PhaseReport & { sse: boolean; rate?: number }>();
    const rates = [1000, 5000];
    const warmupS = Math.min(settings.warmupS, 2);
    const conns = settings.connections;
    let themis: ThemisServer | undefined;
    let bare: BareUws | undefined;
    try {
      themis = await startThemis({ durability: 'sync' });
      const server = themis;
      const probe = await server.req(
        'PUT',
        '/entities/cdc:probe-1000000',
        JSON.stringify({ blob: { i: 1000000, t: 123456.789, pad: PAD } }),
      );
      const putBytes = Buffer.from(await probe.arrayBuffer());
      if (probe.status !== 201) throw new Error(`probe PUT: ${probe.status} ${putBytes.toString()}`);
      bare = await startBareUws({ getBody: Buffer.from('{}'), putBody: putBytes, putStatus: '201 Created' });

      const open = async (base: string) => {
        const u = new URL(base);
        return Promise.all(Array.from({ length: conns }, () => HttpConnection.open(u.hostname, Number(u.port))));
      };

      /** One scenario: writer (paced at `rate`, or closed loop) against `target`, with or without an SSE reader. */
      const scenario = async (o: {
        name: string;
        description: string;
        target: 'bare' | 'themis';
        rate?: number;
        sse: boolean;
        baseline?: string;
      }) => {
        const base = o.target === 'bare' ? bare!.base : server.base;
        const reader = o.sse ? new Reader() : undefined;
        if (reader) await reader.open(server);
        let measured: PhaseReport | undefined;
        const phaseReports: PhaseReport[] = [];
        try {
          const r = await runScenario(
            {
              name: o.name,
              description: o.description,
              server: o.target === 'bare' ? 'bare uWS' : 'themis (sync)',
              load: { base, method: 'PUT', path: `/entities/cdc:${o.name}-<i>`, headers: {} },
              ...(o.target === 'themis'
                ? { themis: { server, route: '/entities/:key' } }
                : bare!.pid !== undefined
                  ? { serverPid: bare!.pid }
                  : {}),
              ...(o.baseline !== undefined ? { baseline: o.baseline } : {}),
              warmupS,
              run: async (durationS, phase) => {
                const tag = `${phase === 'warmup' ? 'w' : 'm'}${o.name}`;
                const ph = new Phase(tag, `cdc:${tag}-`);
                reader?.register(ph);
                const cs = await open(base);
                try {
                  if (o.rate !== undefined) await pacedWriter(cs, ph, o.rate, durationS);
                  else await closedLoopWriter(cs, ph, durationS);
                } finally {
                  for (const c of cs) c.close();
                }
                if (reader) await drain(ph);
                const rep = report(ph, { durationS, sse: o.sse, ...(o.rate !== undefined ? { rate: o.rate } : {}) });
                phaseReports.push(rep);
                if (phase === 'measure') measured = rep;
                log(
                  `${o.name} (${phase}): ${ph.n} writes, ${rep.metrics.written} acked, ack p50 ${rep.ack.p50.toFixed(2)} ms p99 ${rep.ack.p99.toFixed(2)} ms` +
                    (rep.deliverVsAck
                      ? `; delivered ${ph.delivered}, deliver−ack p50 ${rep.deliverVsAck.p50.toFixed(2)} ms p99 ${rep.deliverVsAck.p99.toFixed(2)} ms, deliver−send p50 ${rep.deliverVsSend!.p50.toFixed(2)} p99 ${rep.deliverVsSend!.p99.toFixed(2)} ms`
                      : ''),
                );
                return rep.load;
              },
            },
            settings,
          );
          if (measured) {
            r.metrics = measured.metrics;
            r.warnings.push(...measured.warnings);
          }
          for (const rep of phaseReports) {
            for (const p of rep.problems) {
              r.valid = false;
              r.problems.push(rep === measured ? p : `warm-up: ${p}`);
            }
          }
          if (reader) {
            Object.assign((r.metrics ??= {}), { sse_events: reader.events, sse_gaps: reader.gaps, sse_strays: reader.strays });
            if (reader.gaps > 0) {
              r.valid = false;
              r.problems.push(`${reader.gaps} SSE events out of sequence (ids must be consecutive: only this bench writes)`);
            }
            if (reader.errorEvents.length > 0) {
              r.valid = false;
              r.problems.push(`the server ended the stream with an error event: ${reader.errorEvents.join('; ')}`);
            }
            if (reader.ended !== undefined) r.warnings.push(`the SSE stream ended during the scenario (${reader.ended})`);
          }
          if (r.valid === false) log(`!!!!!! ${o.name} is INVALID: ${r.problems.join('; ')}`);
          if (measured) reports.set(o.name, { ...measured, sse: o.sse, ...(o.rate !== undefined ? { rate: o.rate } : {}) });
          results.push(r);
        } finally {
          reader?.close();
        }
      };

      // JIT warm-up of the write and stream paths before the first (low-rate) scenario: a short
      // closed-loop burst with a subscriber attached (tens of thousands of writes; not measured).
      if (warmupS > 0) {
        log(`cdc: server warm-up, ${warmupS} s closed-loop writes with one SSE subscriber`);
        const reader = new Reader();
        await reader.open(server);
        const ph = new Phase('jit', 'cdc:jit-');
        reader.register(ph);
        const cs = await open(server.base);
        try {
          await closedLoopWriter(cs, ph, warmupS);
        } finally {
          for (const c of cs) c.close();
        }
        await drain(ph);
        reader.close();
        log(`cdc: warm-up wrote ${ph.written()}, delivered ${ph.delivered}`);
        await sleep(300);
      }

      for (const rate of rates) {
        const k = `${rate / 1000}k`;
        await scenario({
          name: `bare-uws-put-${k}`,
          description: `Ceiling: the same open-loop writer at ${rate} writes/s against a bare uWS app answering each PUT with the exact ${putBytes.length} bytes themis returns (the HTTP round-trip floor of this driver on this machine; no storage, no fsync).`,
          target: 'bare',
          rate,
          sse: false,
        });
        await scenario({
          name: `sse-${k}`,
          description: `${rate} writes/s, open loop over ${conns} connections: PUT /entities/cdc:<n> (a blob carrying the send timestamp), durable (fsync, group commit); one SSE subscriber (GET /changefeed/stream from the current last_seq) in the same process. Reported: the PUT ack latency, the event arrival minus the ack, and minus the send time.`,
          target: 'themis',
          rate,
          sse: true,
        });
      }
      await scenario({
        name: 'put-max-nosse',
        description: `Closed loop, ${conns} connections: PUT /entities/cdc:<n> as fast as the JS writer and the server go, no subscriber (ceiling for sse-max).`,
        target: 'themis',
        sse: false,
      });
      await scenario({
        name: 'sse-max',
        description: `Closed loop, ${conns} connections, with one SSE subscriber: the maximum durable write rate while every commit is streamed; every event must arrive.`,
        target: 'themis',
        sse: true,
        baseline: 'put-max-nosse',
      });
    } finally {
      await Promise.allSettled([themis?.stop(), bare?.stop()]);
    }
    applyBaselines(results);

    const ms = (n: number | undefined) =>
      n === undefined || !Number.isFinite(n) ? '' : Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 10 ? n.toFixed(1) : n.toFixed(2);
    const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
    const rows: string[][] = [];
    for (const r of results) {
      const rep = reports.get(r.name);
      if (!rep) continue;
      const m = rep.metrics;
      rows.push([
        r.valid ? r.name : `${r.name} **INVALID**`,
        r.server,
        rep.rate !== undefined ? fmt(rep.rate) : 'max',
        fmt(r.load.rps),
        fmt(m.written ?? 0),
        rep.sse ? fmt(m.delivered ?? 0) : '',
        rep.sse ? String(m.lost ?? 0) : '',
        `${ms(rep.ack.p50)} / ${ms(rep.ack.p99)} / ${ms(rep.ack.max)}`,
        rep.deliverVsAck ? `${ms(rep.deliverVsAck.p50)} / ${ms(rep.deliverVsAck.p99)} / ${ms(rep.deliverVsAck.max)}` : '',
        rep.deliverVsSend ? `${ms(rep.deliverVsSend.p50)} / ${ms(rep.deliverVsSend.p99)} / ${ms(rep.deliverVsSend.max)}` : '',
        rep.deliverVsSend
          ? `${(rep.deliverVsSend.p50 / rep.ack.p50).toFixed(2)} / ${(rep.deliverVsSend.p99 / rep.ack.p99).toFixed(2)}`
          : '',
        rep.sse && rep.beforeAck !== undefined ? `${((rep.beforeAck / Math.max(1, m.delivered ?? 1)) * 100).toFixed(1)}%` : '',
        rep.sendLag ? `${ms(rep.sendLag.p99)} / ${ms(rep.sendLag.max)}` : '',
        r.serverSide?.avgGroupCommit !== undefined ? r.serverSide.avgGroupCommit.toFixed(1) : '',
      ]);
    }
    return {
      title: 'cdc (commit → SSE delivery latency; durability sync)',
      tool: `node ${process.version} raw-socket writer + SSE reader in the bench process`,
      rateLabel: 'writes/s',
      scenarios: results,
      tables: [
        {
          title: 'Delivery latency',
          columns: [
            'Scenario',
            'Server',
            'offered writes/s',
            'achieved writes/s',
            'written (201)',
            'delivered (SSE)',
            'lost',
            'ack ms p50 / p99 / max',
            'deliver − ack ms p50 / p99 / max',
            'deliver − send ms p50 / p99 / max',
            'deliver−send ÷ ack p50 / p99',
            'events before ack',
            'send lag ms p99 / max',
            'avg group commit',
          ],
          rows,
          notes: [
            'ack = PUT round trip (send → 201 received) — the ceiling for delivery: the commit is durable only when the 201 is sent. bare-uws rows give the round-trip floor of the same writer without storage.',
            "deliver − ack = SSE event arrival minus the arrival of its PUT's 201 (negative: the event came first, which is possible since the server notifies subscribers and answers the PUT in the same tick). deliver − send = event arrival minus the send timestamp carried in the blob. All times are performance.now() of one process (writer and reader share the clock and the event loop).",
            'send lag = how late the open-loop writer sent relative to its schedule (a 1 ms timer releases due writes, so bursts of up to rate/1000 writes; a write waits for a free connection when all are busy).',
            'deliver−send ÷ ack: event latency as a ratio of the PUT round trip at the same percentile (below 1: subscribers hear of a commit before its writer does).',
            'lost must be 0: every acknowledged write must arrive on the stream exactly once, in sequence order.',
          ],
        },
      ],
      notes: [
        'Writer and SSE reader are a raw-socket HTTP/1.1 client in the bench process (pinned to the load-generator CPU); the SSE stream starts at the current last_seq (GET /changefeed/stats), so every event after it belongs to this bench and ids must be consecutive.',
        'The results table shows the writer\'s achieved rate and PUT ack latency; the "Delivery latency" table has the SSE numbers. Ratio: sse-max ÷ put-max-nosse = write throughput kept with one subscriber streaming every commit.',
        'Durability sync: each 201 is sent after the group-commit fsync; subscribers are notified right after the batch is durable (before the HTTP replies are written).',
      ],
    };
  },
};
