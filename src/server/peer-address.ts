import type { HttpResponse } from './uws.js';

// The peer's address of a uWS request: its bytes (taken while `res` is valid) and its text (made when read).

/** The peer address's bytes (4 or 16), copied: uWS's buffer is only valid during the handler. Cheaper than its text form. */
export function peerAddressBytes(res: HttpResponse): Uint8Array | undefined {
  try {
    return new Uint8Array(res.getRemoteAddress()).slice();
  } catch {
    return undefined; // uWS's pure-JS fallback may lack it
  }
}

/** The last address formatted (most requests come from a peer just seen: keep-alive connections, few clients). */
let lastBytes: Uint8Array | undefined;
let lastText = '';

/** IPv4 (and IPv4-mapped IPv6) as dotted quads; other IPv6 as eight 4-digit hex groups (uWS's own text form). */
export function formatAddress(b: Uint8Array): string {
  const l = lastBytes;
  if (l !== undefined && l.length === b.length) {
    let same = true;
    for (let i = b.length - 1; i >= 0 && same; i--) if (l[i] !== b[i]) same = false;
    if (same) return lastText;
  }
  lastText = formatBytes(b);
  lastBytes = b;
  return lastText;
}

function formatBytes(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (b.length !== 16) return '';
  let mapped = b[10] === 0xff && b[11] === 0xff;
  for (let i = 0; i < 10 && mapped; i++) if (b[i] !== 0) mapped = false;
  if (mapped) return `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i]! << 8) | b[i + 1]!).toString(16).padStart(4, '0'));
  return groups.join(':');
}
