/** The first line of a library's error message, at most 160 characters: what a client may see of it. */
export function shortReason(message: string): string {
  const line = (message.split('\n')[0] ?? '').trim();
  return line.length > 160 ? `${line.slice(0, 157)}...` : line;
}
