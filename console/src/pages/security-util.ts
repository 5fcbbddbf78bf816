/** Small helpers of the Security & compliance page. */

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** A timestamp in the browser's time zone, `2026-12-07 00:31:05` (– for none). */
export function formatTime(iso: string | null | undefined, seconds = true): string {
  if (!iso) return '–';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const day = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return seconds ? `${day}:${pad(d.getSeconds())}` : day;
}

/** A `datetime-local` input's value as ISO 8601 (UTC), or undefined when empty or invalid. */
export function localToIso(value: string): string | undefined {
  if (value.trim() === '') return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** A `datetime-local` value for a Date (local time, minutes). */
export function isoToLocal(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A compact file-name stamp of now (UTC): `20261207-003105`. */
export function fileStamp(d = new Date()): string {
  return d.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}
