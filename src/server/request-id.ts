import crypto from 'node:crypto';

/** An incoming X-Request-Id is kept when it is this safe to log and echo; otherwise the server makes one. */
const REQUEST_ID_OK = /^[A-Za-z0-9._:@-]{1,128}$/;

/**
 * Request ids in UUID format: 80 random bits chosen at process start plus a
 * 48-bit counter. Unique within a process and, with overwhelming
 * probability, across restarts; far cheaper than a random UUID per request.
 */
const ID_PREFIX = (() => {
  const h = crypto.randomBytes(10).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-`;
})();
let idCounter = 0;

export function nextRequestId(): string {
  idCounter = (idCounter + 1) % 0x1000000000000;
  return ID_PREFIX + idCounter.toString(16).padStart(12, '0');
}

/** The request id of a request that sent `incoming` as X-Request-Id ('' when absent). */
export function requestIdFrom(incoming: string): string {
  return incoming !== '' && REQUEST_ID_OK.test(incoming) ? incoming : nextRequestId();
}
