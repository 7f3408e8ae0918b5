import { type ButtonHTMLAttributes, type MouseEvent, type ReactNode, useCallback, useEffect, useState } from 'react';
import { HeraldError } from './api.js';
import { BASE, navigate } from './router.js';
import { READ_ONLY_REASON, useSession } from './session.js';

/** A link inside the app: a real href (open in a new tab works), navigation without a reload. */
export function Link({
  to,
  children,
  className,
  current,
}: {
  to: string;
  children: ReactNode;
  className?: string;
  /** Marks the link of the page being shown (aria-current="page"). */
  current?: boolean;
}) {
  const onClick = (event: MouseEvent<HTMLAnchorElement>) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(to);
  };
  return (
    <a href={BASE + to} onClick={onClick} className={className} aria-current={current ? 'page' : undefined}>
      {children}
    </a>
  );
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

/** A time in the person's zone, with the exact UTC on hover. */
export function Time({ iso }: { iso: string | null | undefined }) {
  if (!iso) return <span className="muted">—</span>;
  return (
    <time dateTime={iso} title={`${iso} (UTC)`}>
      {dateTime.format(new Date(iso))}
    </time>
  );
}

function useNow(everyMs: number): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}

export function formatDuration(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** "in 1 min 5 s" / "due now", ticking every second. */
export function Countdown({ iso }: { iso: string | null }) {
  const now = useNow(1000);
  if (!iso) return <span className="muted">none scheduled</span>;
  const left = Date.parse(iso) - now;
  return (
    <span title={`${iso} (UTC)`} data-testid="countdown">
      {left > 0 ? `in ${formatDuration(left)}` : `due ${formatDuration(left)} ago`}
    </span>
  );
}

/** An API error as a person can quote it: the message, the code and status, the request id. */
export function ErrorNotice({ error }: { error: unknown }) {
  if (!error) return null;
  const api = error instanceof HeraldError ? error : null;
  return (
    <div className="error" role="alert">
      <strong>{api ? `${api.status || 'Network'} ${api.code}` : 'Error'}: </strong>
      <span className="error-message">{api ? api.message : String(error)}</span>
      {api?.status === 401 ? <div>Your key may have been revoked: sign out, then sign in with a valid key.</div> : null}
      {api?.status === 404 ? <div>Not found: it does not exist, or it is not yours to see.</div> : null}
      {api?.requestId ? (
        <div>
          Request id: <code className="request-id">{api.requestId}</code>
        </div>
      ) : null}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

/**
 * A button that changes something. With a `read` key it is disabled and says why (the reason is
 * also in the banner at the top, which it points to for screen readers).
 */
export function WriteButton(props: ButtonHTMLAttributes<HTMLButtonElement>) {
  const { role } = useSession();
  const readOnly = role === 'read';
  return (
    <button
      type="button"
      {...props}
      data-write=""
      disabled={readOnly || props.disabled}
      title={readOnly ? READ_ONLY_REASON : props.title}
      aria-describedby={readOnly ? 'read-only-reason' : props['aria-describedby']}
    />
  );
}

export function StatusBadge({ status }: { status: string | null }) {
  return <span className={`badge badge-${status ?? 'none'}`}>{status ?? 'unknown'}</span>;
}

export interface Async<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/** Runs `load` now and whenever `deps` change or `reload()` is called; keeps the last data while reloading. */
export function useAsync<T>(load: () => Promise<T>, deps: unknown[]): Async<T> {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({
    data: undefined,
    error: null,
    loading: true,
  });
  const [tick, setTick] = useState(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: the caller names what `load` depends on.
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, error: null, loading: false }),
      (error: unknown) => live && setState((s) => ({ ...s, error, loading: false })),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

/**
 * A cursor-paginated list: the pages loaded so far, and a way to load the next. `loadPage` gets no
 * cursor (undefined) for the first page, as the client's `page({cursor})` calls take it.
 */
export function usePages<T>(
  loadPage: (cursor: string | undefined) => Promise<{ data: T[]; next_cursor: string | null }>,
  deps: unknown[],
) {
  const [items, setItems] = useState<T[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: the caller names what `loadPage` depends on.
  useEffect(() => {
    let live = true;
    setLoading(true);
    loadPage(undefined).then(
      (page) => {
        if (!live) return;
        setItems(page.data);
        setNext(page.next_cursor);
        setError(null);
        setLoading(false);
      },
      (e: unknown) => {
        if (!live) return;
        setError(e);
        setLoading(false);
      },
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  const more = async () => {
    if (!next) return;
    setLoading(true);
    try {
      const page = await loadPage(next);
      setItems((current) => [...current, ...page.data]);
      setNext(page.next_cursor);
      setError(null);
    } catch (e) {
      setError(e);
    } finally {
      setLoading(false);
    }
  };
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { items, setItems, next, error, loading, more, reload };
}

export function LoadMore({ next, loading, onMore }: { next: string | null; loading: boolean; onMore: () => void }) {
  if (!next) return null;
  return (
    <button type="button" className="load-more" onClick={onMore} disabled={loading}>
      {loading ? 'Loading…' : 'Load more'}
    </button>
  );
}

export function Json({ value }: { value: unknown }) {
  return <pre className="code">{typeof value === 'string' ? value : JSON.stringify(value, null, 2)}</pre>;
}
