/**
 * The entry point of a text extraction worker thread (see extractor.ts): it
 * runs `extractText` on the jobs the Extractor posts, one at a time, and
 * posts back the text or the error. Every error is caught and posted; what
 * escapes (an error a library throws asynchronously, running out of memory)
 * ends the thread, and the Extractor answers for it.
 */
import { parentPort } from 'node:worker_threads';
import { extractText } from './extract.js';
import { type ExtractJobMessage, type FailureMessage, serializeError, type WorkerMessage } from './protocol.js';

if (parentPort === null) throw new Error('the text extraction worker must run in a worker thread');
const port = parentPort;

async function run(job: ExtractJobMessage): Promise<void> {
  let reply: WorkerMessage;
  try {
    // A view of the transferred bytes, not a copy.
    const bytes = Buffer.from(job.bytes.buffer, job.bytes.byteOffset, job.bytes.byteLength);
    const text = await extractText(bytes, job.mimeType, job.filename, job.options);
    reply = { type: 'result', id: job.id, text };
  } catch (err) {
    reply = { type: 'failure', id: job.id, error: serializeError(err) };
  }
  try {
    port.postMessage(reply);
  } catch (err) {
    // Details that cannot be cloned (never the case for the errors extraction throws): the error without them.
    const failure: FailureMessage =
      reply.type === 'failure' && reply.error.kind === 'themis'
        ? { ...reply, error: { ...reply.error, details: undefined } }
        : { type: 'failure', id: job.id, error: serializeError(err) };
    port.postMessage(failure);
  }
}

port.on('message', (job: ExtractJobMessage) => {
  void run(job);
});
port.postMessage({ type: 'ready' } satisfies WorkerMessage);
