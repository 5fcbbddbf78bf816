import { useEffect, useState } from 'preact/hooks';

/**
 * Hash routing (`#/data/users`): the server serves one page at /ui, so the path after `#` picks the
 * console page and its arguments; back/forward and reload keep the place.
 */
export interface Route {
  page: string;
  /** The rest of the path, decoded (`['users']` for `#/data/users`). */
  args: string[];
}

export function parseHash(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  return { page: parts[0] ?? 'overview', args: parts.slice(1) };
}

export function href(page: string, ...args: string[]): string {
  return `#/${[page, ...args].map(encodeURIComponent).join('/')}`;
}

export function navigate(page: string, ...args: string[]): void {
  window.location.hash = href(page, ...args);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(window.location.hash));
  useEffect(() => {
    const on = () => setRoute(parseHash(window.location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}
