/**
 * The entry point of a fulltext analysis worker thread (analysis-pool.ts):
 * for each job, the texts of many documents' indexed fields are analysed
 * with the index's configuration and encoded as the documents' records
 * (forward.ts), all packed into one transferred buffer. What this thread
 * computes is a pure function of (configuration, texts): the same bytes
 * the commit would encode itself.
 */
import { parentPort } from 'node:worker_threads';
import { Analyzer, type FulltextConfig } from './analyzer.js';
import { ForwardWriter } from './forward.js';
import type { AnalysisJob, AnalysisReply } from './analysis-pool.js';

if (parentPort === null) throw new Error('the fulltext analysis worker must run in a worker thread');
const port = parentPort;

/** Analyzers by configuration (as JSON): one per index the jobs came for. */
const analyzers = new Map<string, Analyzer>();

function analyzerFor(config: string): Analyzer {
  let a = analyzers.get(config);
  if (!a) {
    if (analyzers.size >= 64) analyzers.clear();
    a = new Analyzer(JSON.parse(config) as FulltextConfig);
    analyzers.set(config, a);
  }
  return a;
}

port.on('message', (job: AnalysisJob) => {
  let reply: AnalysisReply;
  try {
    const a = analyzerFor(job.config);
    const w = new ForwardWriter();
    const parts: Buffer[] = [];
    const ends = new Int32Array(job.texts.length);
    let at = 0;
    job.texts.forEach((texts, i) => {
      const r = a.analyze(texts);
      if (r.length > 0) {
        const rec = w.encode(r);
        parts.push(rec);
        at += rec.length;
      }
      ends[i] = at; // an empty span: nothing indexed
    });
    const out = new Uint8Array(at);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    reply = { id: job.id, records: out, ends };
    port.postMessage(reply, [out.buffer, ends.buffer]);
  } catch (err) {
    reply = { id: job.id, error: err instanceof Error ? err.message : String(err) };
    port.postMessage(reply);
  }
});
