import { type FormEvent, useEffect, useState } from 'react';
import { type Attempt, type DeliveriesParams, given } from '../api.js';
import {
  Countdown,
  Empty,
  ErrorNotice,
  Json,
  Link,
  LoadMore,
  StatusBadge,
  Time,
  useAsync,
  usePages,
  WriteButton,
} from '../components.js';
import { navigate, query, useLocation } from '../router.js';
import { useSession } from '../session.js';
import { DeliveryTable } from './Events.js';

export function DeliveryList() {
  const { api } = useSession();
  const { search } = useLocation();
  const filters = {
    status: search.get('status') ?? '',
    endpoint_id: search.get('endpoint_id') ?? '',
    event_id: search.get('event_id') ?? '',
  };
  const [form, setForm] = useState(filters);
  const pages = usePages(
    (cursor) =>
      api.deliveries.page({
        // Whatever the URL says: the server's 400 names a status that is not one.
        status: given(filters.status) as DeliveriesParams['status'],
        endpoint_id: given(filters.endpoint_id),
        event_id: given(filters.event_id),
        cursor,
        limit: 50,
      }),
    [filters.status, filters.endpoint_id, filters.event_id],
  );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    navigate(`/deliveries${query(form)}`);
  };
  const filtered = filters.status || filters.endpoint_id || filters.event_id;
  return (
    <section aria-labelledby="deliveries-title">
      <h1 id="deliveries-title">Deliveries</h1>
      <form className="filters" onSubmit={submit} aria-label="Filter deliveries">
        <label>
          Status
          <select value={form.status} onChange={(e) => setForm({ ...form, status: e.target.value })}>
            <option value="">any</option>
            <option value="pending">pending</option>
            <option value="succeeded">succeeded</option>
            <option value="failed">failed</option>
          </select>
        </label>
        <label>
          Endpoint id
          <input value={form.endpoint_id} onChange={(e) => setForm({ ...form, endpoint_id: e.target.value.trim() })} />
        </label>
        <label>
          Event id
          <input value={form.event_id} onChange={(e) => setForm({ ...form, event_id: e.target.value.trim() })} />
        </label>
        <button type="submit">Filter</button>
      </form>
      <ErrorNotice error={pages.error} />
      {!pages.loading && !pages.error && pages.items.length === 0 ? (
        <Empty>
          {filtered
            ? 'No delivery matches these filters.'
            : 'No deliveries yet: publish an event to an endpoint that subscribes to it.'}
        </Empty>
      ) : null}
      {pages.items.length > 0 ? <DeliveryTable deliveries={pages.items} /> : null}
      <LoadMore next={pages.next} loading={pages.loading} onMore={pages.more} />
    </section>
  );
}

function Headers({ headers }: { headers: Record<string, string> | null }) {
  if (!headers || Object.keys(headers).length === 0) return <span className="muted">none</span>;
  return (
    <dl className="headers">
      {Object.entries(headers).map(([name, value]) => (
        <div key={name}>
          <dt>{name}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

function AttemptItem({ attempt }: { attempt: Attempt }) {
  const ok = attempt.response_status !== null && attempt.response_status >= 200 && attempt.response_status < 300;
  return (
    <li className={`attempt ${ok ? 'attempt-ok' : 'attempt-failed'}`} data-testid="attempt">
      <h3>
        Attempt {attempt.attempt_no}
        {attempt.manual ? ' (manual)' : ''}:{' '}
        <span className="attempt-status">
          {attempt.response_status !== null ? `HTTP ${attempt.response_status}` : 'no response'}
        </span>
        {attempt.error ? <span className="badge badge-failed">error: {attempt.error}</span> : null}
      </h3>
      <p className="muted">
        <Time iso={attempt.started_at} />, {attempt.duration_ms ?? '—'} ms
      </p>
      <details>
        <summary>Request headers</summary>
        <Headers headers={attempt.request_headers} />
      </details>
      <details>
        <summary>Response headers</summary>
        <Headers headers={attempt.response_headers} />
      </details>
      <div>
        <strong>Response body</strong> <span className="muted">(first 4 KiB)</span>
        {attempt.response_body ? <Json value={attempt.response_body} /> : <span className="muted"> empty</span>}
      </div>
    </li>
  );
}

export function DeliveryDetail({ id }: { id: string }) {
  const { api } = useSession();
  const state = useAsync(() => api.deliveries.get(id), [id]);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const d = state.data;
  const { reload } = state;
  // A pending delivery changes on its own: look again every few seconds.
  useEffect(() => {
    if (d?.status !== 'pending') return;
    const timer = setInterval(reload, 5000);
    return () => clearInterval(timer);
  }, [d?.status, reload]);

  const retry = async () => {
    setBusy(true);
    setError(null);
    try {
      await api.deliveries.retry(id);
      reload();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="delivery-title">
      <p>
        <Link to="/deliveries">← Deliveries</Link>
      </p>
      <h1 id="delivery-title">Delivery {id}</h1>
      <ErrorNotice error={state.error} />
      <ErrorNotice error={error} />
      {d ? (
        <>
          <dl className="facts">
            <dt>Status</dt>
            <dd data-testid="delivery-status">
              <StatusBadge status={d.status} />
            </dd>
            <dt>Event</dt>
            <dd>
              {d.event_type ? `${d.event_type} ` : ''}
              <Link to={`/events/${d.event_id}`}>{d.event_id}</Link>
            </dd>
            <dt>Endpoint</dt>
            <dd>
              {d.endpoint_description || d.endpoint_url ? `${d.endpoint_description || d.endpoint_url} ` : ''}
              <Link to={`/endpoints/${d.endpoint_id}`}>{d.endpoint_id}</Link>
            </dd>
            <dt>Sequence</dt>
            <dd>{d.sequence}</dd>
            <dt>Created</dt>
            <dd>
              <Time iso={d.created_at} />
            </dd>
            <dt>Next attempt</dt>
            <dd>
              {d.status !== 'pending' ? (
                'none: retried only by hand'
              ) : d.next_attempt_at ? (
                <Countdown iso={d.next_attempt_at} />
              ) : (
                'waiting: its endpoint is disabled or its circuit is open'
              )}
            </dd>
            {d.failure_reason ? (
              <>
                <dt>Why it failed</dt>
                <dd data-testid="failure-reason">{d.failure_reason}</dd>
              </>
            ) : null}
          </dl>
          <WriteButton onClick={retry} disabled={busy}>
            {busy ? 'Retrying…' : 'Retry now'}
          </WriteButton>
          <h2>Attempts ({d.attempts.length})</h2>
          {d.attempts.length === 0 ? (
            <Empty>No attempt yet: the first one is due {d.next_attempt_at ? 'soon' : 'when retried'}.</Empty>
          ) : (
            <ol className="timeline">
              {d.attempts.map((a) => (
                <AttemptItem key={a.id} attempt={a} />
              ))}
            </ol>
          )}
        </>
      ) : null}
    </section>
  );
}
