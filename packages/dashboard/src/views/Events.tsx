import { type FormEvent, useState } from 'react';
import { type Delivery, given } from '../api.js';
import { Empty, ErrorNotice, Json, Link, LoadMore, StatusBadge, Time, useAsync, usePages } from '../components.js';
import { navigate, PORTAL, query, useLocation } from '../router.js';
import { useSession } from '../session.js';
import { DeliveryColumnHeads, DeliveryColumns } from './delivery-columns.js';

const LIMIT = 50;

export function EventList() {
  const { api } = useSession();
  const { search } = useLocation();
  const type = search.get('type') ?? '';
  const connection = search.get('connection_id') ?? '';
  const [form, setForm] = useState({ type, connection });
  const pages = usePages(
    async (cursor) => {
      const page = await api.events.page({
        type: given(type),
        connection_id: given(connection),
        after: cursor,
        limit: LIMIT,
      });
      // The feed hands back a cursor on every page, the last one included: a short page is the end.
      return { data: page.data, next_cursor: page.data.length < LIMIT ? null : page.next_cursor };
    },
    [type, connection],
  );

  const submit = (event: FormEvent) => {
    event.preventDefault();
    navigate(`/events${query({ type: form.type.trim(), connection_id: form.connection.trim() })}`);
  };

  return (
    <section aria-labelledby="events-title">
      <h1 id="events-title">Events</h1>
      <form className="filters" onSubmit={submit} aria-label="Search events">
        <label>
          Type
          <input
            value={form.type}
            onChange={(e) => setForm({ ...form, type: e.target.value })}
            placeholder="sync.failed"
          />
        </label>
        <label>
          Connection
          <input
            value={form.connection}
            onChange={(e) => setForm({ ...form, connection: e.target.value })}
            placeholder="con_…"
          />
        </label>
        <button type="submit">Search</button>
      </form>
      <ErrorNotice error={pages.error} />
      {!pages.loading && !pages.error && pages.items.length === 0 ? (
        <Empty>
          {type || connection
            ? 'No event matches these filters. Clear them to see every event.'
            : PORTAL
              ? 'No events for you yet.'
              : 'No events yet. Producers publish them with POST /v1/events.'}
        </Empty>
      ) : null}
      {pages.items.length > 0 ? (
        <div className="table-wrap">
          <table>
            <caption className="muted">Oldest first, as the events feed returns them.</caption>
            <thead>
              <tr>
                <th scope="col">Event</th>
                <th scope="col">Type</th>
                <th scope="col">Connection</th>
                <th scope="col">Occurred</th>
              </tr>
            </thead>
            <tbody>
              {pages.items.map((e) => (
                <tr key={e.id}>
                  <td>
                    <Link to={`/events/${e.id}`}>{e.id}</Link>
                  </td>
                  <td>{e.type}</td>
                  <td>{e.connection_id ?? <span className="muted">—</span>}</td>
                  <td>
                    <Time iso={e.occurred_at} />
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

export function DeliveryTable({ deliveries }: { deliveries: Delivery[] }) {
  return (
    <div className="table-wrap">
      <table>
        <thead>
          <tr>
            <th scope="col" className="hide-narrow">
              Delivery
            </th>
            <th scope="col">Status</th>
            <DeliveryColumnHeads />
            <th scope="col" className="hide-narrow">
              Attempts
            </th>
          </tr>
        </thead>
        <tbody>
          {deliveries.map((d) => (
            <tr key={d.id} data-delivery={d.id}>
              <td className="hide-narrow">
                <Link to={`/deliveries/${d.id}`}>{d.id}</Link>
              </td>
              <td data-testid="status">
                <StatusBadge status={d.status} />
              </td>
              <DeliveryColumns d={d} />
              <td className="hide-narrow">{d.attempt_count}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function EventDetail({ id }: { id: string }) {
  const { api } = useSession();
  const event = useAsync(() => api.events.get(id), [id]);
  const e = event.data;
  return (
    <section aria-labelledby="event-title">
      <p>
        <Link to="/events">← Events</Link>
      </p>
      <h1 id="event-title">Event {id}</h1>
      <ErrorNotice error={event.error} />
      {e ? (
        <>
          <dl className="facts">
            <dt>Type</dt>
            <dd>{e.type}</dd>
            <dt>Connection</dt>
            <dd>{e.connection_id ?? '—'}</dd>
            <dt>Occurred</dt>
            <dd>
              <Time iso={e.occurred_at} />
            </dd>
            <dt>Received</dt>
            <dd>
              <Time iso={e.created_at} />
            </dd>
          </dl>
          <h2>Data</h2>
          <Json value={e.data} />
          <h2>Deliveries</h2>
          {e.deliveries.length === 0 ? (
            <Empty>No endpoint was subscribed to this event when it was published.</Empty>
          ) : (
            <DeliveryTable deliveries={e.deliveries} />
          )}
        </>
      ) : null}
    </section>
  );
}
