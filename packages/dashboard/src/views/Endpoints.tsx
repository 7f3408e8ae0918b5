import { type FormEvent, useState } from 'react';
import type { CreateEndpointInput } from '../api.js';
import { type AttemptPoint, LatencyChart } from '../chart.js';
import {
  Countdown,
  Empty,
  ErrorNotice,
  Link,
  LoadMore,
  StatusBadge,
  Time,
  useAsync,
  usePages,
  WriteButton,
} from '../components.js';
import { navigate, PORTAL } from '../router.js';
import { useSession } from '../session.js';

/** Why a read-only viewer cannot reveal a secret: in the portal a key is not theirs to change. */
const SECRET_READ_ONLY = PORTAL
  ? 'This portal session is read-only: it cannot reveal the secret.'
  : 'Reading a secret needs an admin key.';

function parseList(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** One header a line, `Name: value`. */
function parseHeaders(text: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const at = line.indexOf(':');
    if (at > 0) headers[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return headers;
}

function formatHeaders(headers: Record<string, string>): string {
  return Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}`)
    .join('\n');
}

interface EndpointFields {
  url: string;
  description: string;
  eventTypes: string;
  connectionIds: string;
  headers: string;
}

function EndpointForm({
  initial,
  submitLabel,
  onSubmit,
}: {
  initial: EndpointFields;
  submitLabel: string;
  onSubmit: (body: CreateEndpointInput) => Promise<void>;
}) {
  const [fields, setFields] = useState(initial);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const set = (name: keyof EndpointFields) => (e: { target: { value: string } }) =>
    setFields((f) => ({ ...f, [name]: e.target.value }));
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await onSubmit({
        url: fields.url,
        description: fields.description,
        event_types: parseList(fields.eventTypes),
        connection_ids: parseList(fields.connectionIds),
        headers: parseHeaders(fields.headers),
      });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={submit} className="form">
      <label>
        URL
        <input
          type="url"
          required
          value={fields.url}
          onChange={set('url')}
          placeholder="https://example.com/webhooks"
        />
      </label>
      <label>
        Description
        <input value={fields.description} onChange={set('description')} />
      </label>
      <label>
        Event types (comma separated; empty: every type)
        <input value={fields.eventTypes} onChange={set('eventTypes')} placeholder="sync.completed, sync.failed" />
      </label>
      <label>
        Connection ids (comma separated; empty: every connection)
        <input value={fields.connectionIds} onChange={set('connectionIds')} />
      </label>
      <label>
        Headers (one a line, <code>Name: value</code>)
        <textarea rows={3} value={fields.headers} onChange={set('headers')} />
      </label>
      <ErrorNotice error={error} />
      <WriteButton type="submit" disabled={busy}>
        {busy ? 'Saving…' : submitLabel}
      </WriteButton>
    </form>
  );
}

export function EndpointList() {
  const { api } = useSession();
  const pages = usePages((cursor) => api.endpoints.page({ cursor, limit: 50 }), []);
  const [creating, setCreating] = useState(false);
  return (
    <section aria-labelledby="endpoints-title">
      <div className="toolbar">
        <h1 id="endpoints-title">Endpoints</h1>
        <WriteButton onClick={() => setCreating((c) => !c)} aria-expanded={creating}>
          {creating ? 'Cancel' : 'New endpoint'}
        </WriteButton>
      </div>
      {creating ? (
        <div className="card">
          <h2>New endpoint</h2>
          <EndpointForm
            initial={{ url: '', description: '', eventTypes: '', connectionIds: '', headers: '' }}
            submitLabel="Create endpoint"
            onSubmit={async (body) => {
              const created = await api.endpoints.create(body);
              navigate(`/endpoints/${created.id}?created=1`);
            }}
          />
        </div>
      ) : null}
      <ErrorNotice error={pages.error} />
      {!pages.loading && pages.items.length === 0 && !pages.error ? (
        <Empty>No endpoints yet. Create one with “New endpoint” to start receiving webhooks.</Empty>
      ) : null}
      {pages.items.length > 0 ? (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">URL</th>
                <th scope="col">Event types</th>
                <th scope="col">State</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {pages.items.map((e) => (
                <tr key={e.id}>
                  <td>
                    <Link to={`/endpoints/${e.id}`}>{e.url}</Link>
                    {e.description ? <div className="muted">{e.description}</div> : null}
                  </td>
                  <td>{e.event_types.length ? e.event_types.join(', ') : 'all'}</td>
                  <td>
                    <StatusBadge status={e.disabled ? 'disabled' : 'enabled'} />
                  </td>
                  <td>
                    <Time iso={e.created_at} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <LoadMore next={pages.next} loading={pages.loading} onMore={pages.more} />
    </section>
  );
}

/** How many of the newest deliveries the latency chart reads. */
const RECENT = 25;

export function EndpointDetail({ id }: { id: string }) {
  const { api, role } = useSession();
  const endpoint = useAsync(() => api.endpoints.get(id), [id]);
  const deliveries = useAsync(() => api.deliveries.page({ endpoint_id: id, limit: 250 }), [id]);
  // Latency over time: the attempts of the newest deliveries (one request each, so only a few).
  const attempts = useAsync(async () => {
    const page = await api.deliveries.page({ endpoint_id: id, limit: RECENT });
    const details = await Promise.all(page.data.map((d) => api.deliveries.get(d.id)));
    return details.flatMap((d) =>
      d.attempts.map(
        (a): AttemptPoint => ({
          t: Date.parse(a.started_at) / 1000,
          durationMs: a.duration_ms ?? 0,
          ok: a.response_status !== null && a.response_status >= 200 && a.response_status < 300,
        }),
      ),
    );
  }, [id]);
  const [secret, setSecret] = useState<string | null>(null);
  const [confirmRotate, setConfirmRotate] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);

  const act = async (what: () => Promise<void>) => {
    setError(null);
    setNotice(null);
    try {
      await what();
    } catch (e) {
      setError(e);
    }
  };

  const ep = endpoint.data;
  const recent = deliveries.data?.data ?? [];
  const finished = recent.filter((d) => d.status !== 'pending');
  const rate = finished.length
    ? Math.round((100 * finished.filter((d) => d.status === 'succeeded').length) / finished.length)
    : null;

  return (
    <section aria-labelledby="endpoint-title">
      <p>
        <Link to="/endpoints">← Endpoints</Link>
      </p>
      <h1 id="endpoint-title">Endpoint {ep ? ep.url : id}</h1>
      <ErrorNotice error={endpoint.error} />
      <ErrorNotice error={error} />
      {notice ? (
        <p className="notice" role="status">
          {notice}
        </p>
      ) : null}
      {ep ? (
        <>
          <dl className="facts">
            <dt>Id</dt>
            <dd>
              <code>{ep.id}</code>
            </dd>
            <dt>State</dt>
            <dd>
              <StatusBadge status={ep.disabled ? 'disabled' : 'enabled'} />
              {ep.disabled_reason ? ` (${ep.disabled_reason})` : ''}
            </dd>
            <dt>Circuit</dt>
            <dd data-testid="circuit">
              <StatusBadge status={ep.circuit?.state ?? 'closed'} />
              {ep.circuit?.opened_at ? (
                <>
                  {' '}
                  open since <Time iso={ep.circuit.opened_at} />: its deliveries wait; next probe{' '}
                  <Countdown iso={ep.circuit.next_probe_at} />
                </>
              ) : null}
            </dd>
            <dt>Signature scheme</dt>
            <dd>{ep.signature_scheme}</dd>
            <dt>Created</dt>
            <dd>
              <Time iso={ep.created_at} />
            </dd>
            <dt>Success rate</dt>
            <dd data-testid="success-rate">
              {rate === null
                ? 'no finished deliveries yet'
                : `${rate}% of the last ${finished.length} finished deliveries`}{' '}
              <Link to={`/deliveries?endpoint_id=${ep.id}`}>see deliveries</Link>
            </dd>
          </dl>
          <div className="actions">
            <WriteButton
              onClick={() =>
                act(async () => {
                  await api.endpoints.update(ep.id, { disabled: !ep.disabled });
                  setNotice(ep.disabled ? 'Endpoint enabled.' : 'Endpoint disabled: nothing will be sent to it.');
                  endpoint.reload();
                })
              }
            >
              {ep.disabled ? 'Enable endpoint' : 'Disable endpoint'}
            </WriteButton>
            <WriteButton
              onClick={() =>
                act(async () => {
                  // To this endpoint only, whatever it subscribes to (a portal session may not publish).
                  const sent = await api.endpoints.sendTest(ep.id);
                  setNotice(`Test event ${sent.id} sent to this endpoint: see it in its deliveries.`);
                  deliveries.reload();
                })
              }
            >
              Send test event
            </WriteButton>
          </div>

          <div className="card">
            <h2>Latency of recent attempts</h2>
            <ErrorNotice error={attempts.error} />
            {attempts.data && attempts.data.length > 0 ? (
              <LatencyChart points={attempts.data} />
            ) : attempts.data ? (
              <Empty>No attempts yet. Publish an event this endpoint subscribes to, or send a test event.</Empty>
            ) : null}
          </div>

          <div className="card">
            <h2>Secret</h2>
            {secret ? (
              <p>
                <code data-testid="secret">{secret}</code>
              </p>
            ) : (
              <p className="muted">
                {PORTAL
                  ? `Hidden.${role === 'read' ? ` ${SECRET_READ_ONLY}` : ''}`
                  : 'Hidden. Revealing it needs an admin key.'}
              </p>
            )}
            <div className="actions">
              <button
                type="button"
                data-write=""
                disabled={role === 'read'}
                title={role === 'read' ? SECRET_READ_ONLY : undefined}
                aria-describedby={role === 'read' ? 'read-only-reason' : undefined}
                onClick={() =>
                  act(async () => {
                    const s = await api.endpoints.secret(ep.id);
                    setSecret(s.secret);
                  })
                }
              >
                Reveal secret
              </button>
              {confirmRotate ? (
                <fieldset className="confirm">
                  <legend className="sr-only">Confirm rotation</legend>
                  Rotate? The old secret keeps signing beside the new one for 24 h.{' '}
                  <WriteButton
                    className="danger"
                    onClick={() =>
                      act(async () => {
                        const rotated = await api.endpoints.rotateSecret(ep.id);
                        setSecret(rotated.secret ?? null);
                        setConfirmRotate(false);
                        setNotice('Secret rotated. The previous secret keeps signing for 24 h.');
                      })
                    }
                  >
                    Yes, rotate
                  </WriteButton>{' '}
                  <button type="button" onClick={() => setConfirmRotate(false)}>
                    Cancel
                  </button>
                </fieldset>
              ) : (
                <WriteButton onClick={() => setConfirmRotate(true)}>Rotate secret…</WriteButton>
              )}
            </div>
          </div>

          <div className="card">
            <h2>Filters and headers</h2>
            <EndpointForm
              key={`${ep.id}-${ep.created_at}`}
              initial={{
                url: ep.url,
                description: ep.description,
                eventTypes: ep.event_types.join(', '),
                connectionIds: ep.connection_ids.join(', '),
                headers: formatHeaders(ep.headers),
              }}
              submitLabel="Save changes"
              onSubmit={async (body) => {
                await api.endpoints.update(ep.id, body);
                setNotice('Changes saved.');
                endpoint.reload();
              }}
            />
          </div>
        </>
      ) : null}
    </section>
  );
}
