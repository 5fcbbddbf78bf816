/**
 * A Server-Sent Events parser over a fetch body (WHATWG HTML, "Interpreting an event stream"):
 * lines end in CR, LF or CRLF; `:` starts a comment; `data` lines join with LF; a blank line
 * dispatches. Works wherever fetch streams do (Node 20, browsers), unlike EventSource, which cannot
 * send an Authorization header.
 */

export interface SseMessage {
  event: string;
  data: string;
  id: string | undefined;
  retry: number | undefined;
}

export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseMessage> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let event = '';
  let data: string[] = [];
  let id: string | undefined;
  let retry: number | undefined;
  let sawData = false;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      for (;;) {
        const m = /\r\n|\r|\n/.exec(buffer);
        // A lone CR at the end may be the first half of CRLF: wait for more.
        if (m === null || (m[0] === '\r' && m.index === buffer.length - 1 && !done)) break;
        const line = buffer.slice(0, m.index);
        buffer = buffer.slice(m.index + m[0].length);
        if (line === '') {
          if (sawData || retry !== undefined) yield { event: event || 'message', data: data.join('\n'), id, retry };
          event = '';
          data = [];
          id = undefined;
          retry = undefined;
          sawData = false;
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let val = colon < 0 ? '' : line.slice(colon + 1);
        if (val.startsWith(' ')) val = val.slice(1);
        if (field === 'data') {
          data.push(val);
          sawData = true;
        } else if (field === 'event') event = val;
        else if (field === 'id') id = val;
        else if (field === 'retry' && /^\d+$/.test(val)) retry = Number(val);
      }
      if (done) return;
    }
  } finally {
    // Closes the connection when the consumer stops early (break, return, throw).
    await reader.cancel().catch(() => {});
  }
}
