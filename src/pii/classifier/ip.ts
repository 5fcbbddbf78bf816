import { isIPv6 } from 'node:net';
import type { Recognizer } from './recognizer.js';
import { contextHit, contextMatcher, type Found, type Scan } from './text.js';

// Four dot-separated numbers of 1-3 digits, not part of a longer dotted run
// ("1.2.3.4.5") or a word ("v1.2.3.4").
const IPV4 = /(?<![\p{L}\p{N}.])(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?![\p{L}\p{N}]|\.\d)/gu;
// Hex digits, colons and dots (IPv4-mapped tails), not inside a word; bounded.
const IPV6 = /(?<![\p{L}\p{N}:.])[0-9A-Fa-f:][0-9A-Fa-f:.]{2,44}(?![\p{L}\p{N}:])/gu;

/** Words before a dotted number that make it a version, section or build number. */
const VERSION_WORDS = contextMatcher([
  'version',
  'versions',
  'v',
  'release',
  'firmware',
  'build',
  'update',
  'upgrade',
  'patch',
  'artikel',
  'paragraph',
  'section',
  'kapitel',
  'chapter',
  'abschnitt',
  'ziffer',
  'nr',
  'no',
  'isbn',
  'oid',
  'snmp',
  'sdk',
  'api',
  'app',
  'software',
  'treiber',
  'driver',
]);

const IP_CONTEXT_DE = [
  'ip',
  'ip-adresse',
  'adresse',
  'server',
  'host',
  'router',
  'client',
  'rechner',
  'von',
  'zugriff',
  'firewall',
  'gesperrt',
  'netz',
];
const IP_CONTEXT_EN = ['ip', 'address', 'server', 'host', 'router', 'client', 'from', 'access', 'firewall', 'blocked', 'network', 'login'];

export function findIpv4(scan: Scan): Found[] {
  const text = scan.text;
  const out: Found[] = [];
  IPV4.lastIndex = 0;
  for (let m = IPV4.exec(text); m !== null; m = IPV4.exec(text)) {
    const octets = [m[1]!, m[2]!, m[3]!, m[4]!];
    if (octets.some((o) => Number(o) > 255 || (o.length > 1 && o[0] === '0'))) continue;
    if (contextHit(scan.wordsBefore(m.index, 2), VERSION_WORDS)) continue;
    const end = m.index + m[0].length;
    // A network in CIDR notation ("10.0.0.0/8") is a range, not a host: its host bits are all zero.
    const cidr = /^\/(\d{1,2})(?!\d)/.exec(text.slice(end, end + 4));
    if (cidr !== null && Number(cidr[1]) <= 32) {
      const bits = Number(cidr[1]);
      const value = octets.reduce((acc, o) => acc * 256 + Number(o), 0);
      const hostBits = 32 - bits;
      if (hostBits > 0 && value % 2 ** hostBits === 0) continue;
    }
    out.push({ start: m.index, end: m.index + m[0].length, confidence: 0.75 });
  }
  return out;
}

export function findIpv6(scan: Scan): Found[] {
  const text = scan.text;
  const out: Found[] = [];
  IPV6.lastIndex = 0;
  for (let m = IPV6.exec(text); m !== null; m = IPV6.exec(text)) {
    let s = m[0];
    // A sentence-final '.' or ':' is not part of the address.
    while (s.length > 0 && (s.endsWith('.') || (s.endsWith(':') && !s.endsWith('::')))) s = s.slice(0, -1);
    let colons = 0;
    let hex = 0;
    for (const ch of s) {
      if (ch === ':') colons++;
      else if (ch !== '.') hex++;
    }
    if (colons < 2 || hex < 1 || !isIPv6(s)) continue;
    out.push({ start: m.index, end: m.index + s.length, confidence: 0.8 });
  }
  return out;
}

export const ipAddressRecognizer: Recognizer = {
  mayMatch: (p) => (p.dot && p.digits >= 4) || p.colon,
  id: 'ip_address',
  category: 'ip_address',
  method:
    "IPv4: regex (4 dot-separated numbers) + each octet ≤ 255 without leading zero, not after 'version', 'v', 'release', 'firmware', 'build'..., not a CIDR network address (10.0.0.0/8); IPv6: regex (hex digits, ':' and '.') + node:net isIPv6",
  pattern: '[0-9]{1,3}(\\.[0-9]{1,3}){3}|[0-9A-Fa-f:][0-9A-Fa-f:.]{2,44}',
  confidence: 0.75,
  context: { de: IP_CONTEXT_DE, en: IP_CONTEXT_EN },
  find: (scan) => [...findIpv4(scan), ...findIpv6(scan)],
};
