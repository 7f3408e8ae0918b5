import { useEffect, useMemo, useRef, useState } from 'react';
import { View } from './App.js';
import { createApi } from './api.js';
import { ErrorNotice, Link, useAsync } from './components.js';
import { useLocation } from './router.js';
import { READ_ONLY_REASON, SessionContextValue } from './session.js';
import { brandOf, type PortalSettings, returnUrlOf } from './theme.js';
import { FailedList } from './views/Failed.js';

/**
 * The portal: the dashboard for one tenant, opened from `<herald>/portal/#token=…`. The token is a
 * portal session (a bearer credential scoped to the tenant); it is taken from the fragment, kept in
 * this tab's session storage, and the fragment is cleared so it stays out of the history and of
 * anything that copies the address.
 */
const TOKEN_KEY = 'herald.portal.token';

export function takeToken(): string | null {
  const match = /^#token=([^&]+)/.exec(window.location.hash);
  if (match?.[1]) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
    window.history.replaceState(null, '', window.location.pathname + window.location.search);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

/** No operator-only views: the customer's failed webhooks first, then what it needs to fix them. */
const NAV = [
  { to: '/', label: 'Failed', match: (p: string) => p === '/' || p.startsWith('/failed') },
  { to: '/deliveries', label: 'Deliveries', match: (p: string) => p.startsWith('/deliveries') },
  { to: '/endpoints', label: 'Endpoints', match: (p: string) => p.startsWith('/endpoints') },
  { to: '/events', label: 'Events', match: (p: string) => p.startsWith('/events') },
  { to: '/connections', label: 'Sync status', match: (p: string) => p.startsWith('/connections') },
];

function Ended({ returnUrl, brand, reason }: { returnUrl: string | null; brand: string; reason: string }) {
  return (
    <main className="sign-in" id="main">
      <h1>{brand}</h1>
      <div className="card" role="alert" data-testid="portal-ended">
        <h2>{reason}</h2>
        <p>Portal links are made for one visit and expire. Open the webhooks page again from your account.</p>
        {returnUrl ? (
          <p>
            <a href={returnUrl} target="_top" rel="noopener">
              Back to {brand}
            </a>
          </p>
        ) : null}
      </div>
    </main>
  );
}

export function PortalApp() {
  const [token] = useState(takeToken);
  const [expired, setExpired] = useState(false);
  const api = useMemo(() => (token ? createApi(token, () => setExpired(true)) : null), [token]);
  const settings = useAsync(() => fetch('/portal/config.json').then((r) => r.json() as Promise<PortalSettings>), []);
  const session = useAsync(() => (api ? api.session() : Promise.resolve(undefined)), [api]);
  const { path } = useLocation();
  const main = useRef<HTMLElement>(null);
  const tenant = session.data?.tenant ?? undefined;
  const brand = brandOf(settings.data, tenant?.metadata);

  // biome-ignore lint/correctness/useExhaustiveDependencies: runs on each path change.
  useEffect(() => {
    main.current?.focus();
  }, [path]);
  useEffect(() => {
    if (brand.accent) document.documentElement.style.setProperty('--accent', brand.accent);
    document.title = `${brand.name}: webhooks`;
  }, [brand.accent, brand.name]);

  const returnUrl = returnUrlOf(settings.data);
  if (!api) return <Ended returnUrl={returnUrl} brand={brand.name} reason="This page opens from a portal link." />;
  if (expired) {
    return <Ended returnUrl={returnUrl} brand={brand.name} reason="Your session has expired." />;
  }
  if (!session.data) {
    return (
      <main id="main">
        <ErrorNotice error={session.error} />
        {session.error ? null : <p className="muted">Loading…</p>}
      </main>
    );
  }
  const readOnly = session.data.kind === 'portal' && session.data.read_only;
  const [, section] = path.split('/');
  return (
    <SessionContextValue.Provider value={{ api, role: readOnly ? 'read' : 'admin' }}>
      <a href="#main" className="skip">
        Skip to content
      </a>
      <header className="top">
        <strong className="brand" data-testid="brand">
          {brand.name}
        </strong>
        <nav aria-label="Main">
          <ul>
            {NAV.map((item) => (
              <li key={item.to}>
                <Link to={item.to} current={item.match(path)}>
                  {item.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <span className="who" data-testid="tenant">
          {tenant?.name ?? ''}
        </span>
      </header>
      {readOnly ? (
        <p className="read-only" id="read-only-reason" role="note">
          {READ_ONLY_REASON}
        </p>
      ) : null}
      <main id="main" ref={main} tabIndex={-1}>
        {section === '' ? <FailedList /> : <View path={path} />}
      </main>
    </SessionContextValue.Provider>
  );
}
