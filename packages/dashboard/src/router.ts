import { useEffect, useState } from 'react';

/**
 * A small history router: the app's paths live under /dashboard/ (Vite's base), or under /portal/
 * when the same app runs as a tenant's portal, with a query string.
 */
export const PORTAL = typeof window !== 'undefined' && /^\/portal(\/|$)/.test(window.location.pathname);
export const BASE = PORTAL ? '/portal' : '/dashboard';

export interface Location {
  /** The path below /dashboard (or /portal), e.g. `/deliveries/dlv_1`; `/` for the overview. */
  path: string;
  search: URLSearchParams;
}

function current(): Location {
  const path = window.location.pathname.startsWith(BASE) ? window.location.pathname.slice(BASE.length) : '/';
  return { path: path === '' ? '/' : path, search: new URLSearchParams(window.location.search) };
}

const listeners = new Set<() => void>();

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  const url = BASE + to;
  if (options.replace) window.history.replaceState(null, '', url);
  else window.history.pushState(null, '', url);
  for (const listener of listeners) listener();
}

export function useLocation(): Location {
  const [location, setLocation] = useState(current);
  useEffect(() => {
    const update = () => setLocation(current());
    listeners.add(update);
    window.addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      window.removeEventListener('popstate', update);
    };
  }, []);
  return location;
}

/** `?a=1&b=2` from the fields that are set: a page's URL with its filters. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(name, String(value));
  }
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}
