import { type FormEvent, useEffect, useMemo, useRef, useState } from 'react';
import { createApi, detectRole } from './api.js';
import { ErrorNotice, Link } from './components.js';
import { useLocation } from './router.js';
import { loadSession, READ_ONLY_REASON, type Session, SessionContextValue, saveSession } from './session.js';
import { ConnectionList } from './views/Connections.js';
import { DeliveryDetail, DeliveryList } from './views/Deliveries.js';
import { EndpointDetail, EndpointList } from './views/Endpoints.js';
import { EventDetail, EventList } from './views/Events.js';
import { FailedList } from './views/Failed.js';
import { Overview } from './views/Overview.js';

function SignIn({ onSignIn }: { onSignIn: (session: Session) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const role = await detectRole(createApi(key.trim()));
      onSignIn({ key: key.trim(), role });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="sign-in" id="main">
      <h1>Herald</h1>
      <form onSubmit={submit} className="form card" aria-labelledby="sign-in-title">
        <h2 id="sign-in-title">Sign in with an API key</h2>
        <label>
          API key
          <input
            type="password"
            name="api-key"
            autoComplete="off"
            required
            value={key}
            onChange={(e) => setKey(e.target.value)}
          />
        </label>
        <p className="muted">
          The key is kept in this browser tab only (session storage) and sent as a Bearer token to this server's API.
        </p>
        <ErrorNotice error={error} />
        <button type="submit" disabled={busy || key.trim() === ''}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}

const NAV = [
  { to: '/', label: 'Overview', match: (p: string) => p === '/' },
  { to: '/endpoints', label: 'Endpoints', match: (p: string) => p.startsWith('/endpoints') },
  { to: '/events', label: 'Events', match: (p: string) => p.startsWith('/events') },
  { to: '/deliveries', label: 'Deliveries', match: (p: string) => p.startsWith('/deliveries') },
  { to: '/failed', label: 'Failed', match: (p: string) => p.startsWith('/failed') },
  { to: '/connections', label: 'Connections', match: (p: string) => p.startsWith('/connections') },
];

export function View({ path }: { path: string }) {
  const [, section, id] = path.split('/');
  switch (section) {
    case '':
      return <Overview />;
    case 'endpoints':
      return id ? <EndpointDetail id={id} /> : <EndpointList />;
    case 'events':
      return id ? <EventDetail id={id} /> : <EventList />;
    case 'deliveries':
      return id ? <DeliveryDetail id={id} /> : <DeliveryList />;
    case 'failed':
      return <FailedList />;
    case 'connections':
      return <ConnectionList />;
    default:
      return (
        <p>
          There is no page at {path}. <Link to="/">Go to the overview.</Link>
        </p>
      );
  }
}

export function App() {
  const [session, setSession] = useState(loadSession);
  const { path } = useLocation();
  const api = useMemo(() => (session ? createApi(session.key) : null), [session]);
  const main = useRef<HTMLElement>(null);

  // After signing in and after each navigation, focus moves to the page so a screen reader announces it.
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs on each path change and sign-in.
  useEffect(() => {
    main.current?.focus();
  }, [path, session]);

  if (!session || !api) {
    return (
      <SignIn
        onSignIn={(s) => {
          saveSession(s);
          setSession(s);
        }}
      />
    );
  }
  const signOut = () => {
    saveSession(null);
    setSession(null);
  };
  return (
    <SessionContextValue.Provider value={{ api, role: session.role }}>
      <a href="#main" className="skip">
        Skip to content
      </a>
      <header className="top">
        <strong className="brand">Herald</strong>
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
        <span className="who">
          <span className={`badge badge-role-${session.role}`} data-testid="role">
            {session.role} key
          </span>{' '}
          <button type="button" onClick={signOut}>
            Sign out
          </button>
        </span>
      </header>
      {session.role === 'read' ? (
        <p className="read-only" id="read-only-reason" role="note">
          Read-only: {READ_ONLY_REASON}
        </p>
      ) : null}
      <main id="main" ref={main} tabIndex={-1}>
        <View path={path} />
      </main>
    </SessionContextValue.Provider>
  );
}
