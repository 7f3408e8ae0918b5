import { useEffect, useMemo, useState } from 'react';
import { openAlerts } from '../alerts.js';
import {
  type Api,
  type Delivery,
  type DeliveryStats,
  type Endpoint,
  type HeraldEvent,
  type Page,
  query,
} from '../api.js';
import { DeliveriesChart } from '../chart.js';
import { Countdown, Empty, ErrorNotice, Link, StatusBadge, Time, useAsync } from '../components.js';
import { chartBuckets } from '../delivery-stats.js';
import { useSession } from '../session.js';

const HOUR_MS = 60 * 60 * 1000;
const PAGE = 250;
/** Pages read at most for the oldest pending delivery and the alerts. */
const MAX_PAGES = 8;
const REFRESH_MS = 15_000;

/** The oldest pending delivery: the list is newest first, so it is the last of the pending pages. */
async function oldestPending(api: Api): Promise<Delivery | undefined> {
  let cursor: string | null = null;
  let last: Delivery | undefined;
  for (let i = 0; i < MAX_PAGES; i++) {
    const page: Page<Delivery> = await api.get(`/v1/deliveries${query({ status: 'pending', limit: PAGE, cursor })}`);
    last = page.data[page.data.length - 1] ?? last;
    cursor = page.next_cursor;
    if (!cursor) break;
  }
  return last;
}

/** Every alert.triggered event (the feed is oldest first, so the whole of it, up to MAX_PAGES). */
async function alertEvents(api: Api) {
  const events: HeraldEvent[] = [];
  let after: string | null = null;
  for (let i = 0; i < MAX_PAGES; i++) {
    const page: Page<HeraldEvent> = await api.get(
      `/v1/events${query({ type: 'alert.triggered', after, limit: PAGE })}`,
    );
    events.push(...page.data);
    after = page.next_cursor;
    if (page.data.length < PAGE) break;
  }
  return events;
}

export function Overview() {
  const { api } = useSession();
  const [auto, setAuto] = useState(true);
  const [hours, setHours] = useState(3);
  const state = useAsync(async () => {
    const now = Date.now();
    const since = now - hours * HOUR_MS;
    const [stats, endpoints, pending, alerts] = await Promise.all([
      api.get<DeliveryStats>(
        `/v1/stats/deliveries${query({ since: new Date(since).toISOString(), bucket_seconds: 60 })}`,
      ),
      api.get<Page<Endpoint>>('/v1/endpoints?limit=250'),
      oldestPending(api),
      alertEvents(api),
    ]);
    return {
      now,
      since,
      stats,
      endpoints: endpoints.data,
      pending,
      alerts: openAlerts(alerts),
      loadedAt: new Date().toISOString(),
    };
  }, [hours]);
  const { reload } = state;

  useEffect(() => {
    if (!auto) return;
    const timer = setInterval(reload, REFRESH_MS);
    return () => clearInterval(timer);
  }, [auto, reload]);

  const data = state.data;
  const buckets = useMemo(() => data && chartBuckets(data.stats), [data]);
  const failing = useMemo(() => {
    if (!data) return [];
    const failed = new Map(data.stats.failed_by_endpoint.map((e) => [e.endpoint_id, e.failed]));
    return data.endpoints
      .filter((e) => e.disabled || failed.has(e.id))
      .map((e) => ({ endpoint: e, failed: failed.get(e.id) ?? 0 }));
  }, [data]);

  return (
    <section aria-labelledby="overview-title">
      <div className="toolbar">
        <h1 id="overview-title">Overview</h1>
        <label className="inline">
          Window
          <select value={hours} onChange={(e) => setHours(Number(e.target.value))}>
            <option value={1}>last hour</option>
            <option value={3}>last 3 hours</option>
            <option value={12}>last 12 hours</option>
          </select>
        </label>
        <label className="inline">
          <input type="checkbox" checked={auto} onChange={(e) => setAuto(e.target.checked)} /> Refresh every 15 s
        </label>
        <button type="button" onClick={reload} disabled={state.loading}>
          {state.loading ? 'Refreshing…' : 'Refresh now'}
        </button>
      </div>
      <ErrorNotice error={state.error} />
      {data && buckets ? (
        <>
          <p className="muted">
            Updated <Time iso={data.loadedAt} />.
          </p>
          <DeliveriesChart
            buckets={buckets}
            label={`Deliveries per minute over the last ${hours === 1 ? 'hour' : `${hours} hours`}`}
          />
          <div className="grid">
            <div className="card">
              <h2>Open alerts</h2>
              {data.alerts.length === 0 ? (
                <Empty>No open alerts. Alerts arrive as alert.triggered events and close when one says resolved.</Empty>
              ) : (
                <ul className="plain" data-testid="open-alerts">
                  {data.alerts.map((alert) => (
                    <li key={alert.key}>
                      <Link to={`/events/${alert.event.id}`}>{alert.message}</Link>,{' '}
                      <Time iso={alert.event.occurred_at} />
                    </li>
                  ))}
                </ul>
              )}
            </div>
            <div className="card">
              <h2>Failing or disabled endpoints</h2>
              {failing.length === 0 ? (
                <Empty>No endpoint is disabled or has failed deliveries in this window.</Empty>
              ) : (
                <ul className="plain">
                  {failing.map(({ endpoint, failed }) => (
                    <li key={endpoint.id}>
                      <Link to={`/endpoints/${endpoint.id}`}>{endpoint.url}</Link>{' '}
                      {endpoint.disabled ? <StatusBadge status="disabled" /> : null}{' '}
                      {failed > 0 ? <Link to={`/failed?endpoint_id=${endpoint.id}`}>{failed} failed</Link> : null}
                    </li>
                  ))}
                </ul>
              )}
            </div>
            <div className="card">
              <h2>Oldest due delivery</h2>
              {data.pending ? (
                <p>
                  <Link to={`/deliveries/${data.pending.id}`}>{data.pending.id}</Link>, created{' '}
                  <Time iso={data.pending.created_at} />, {data.pending.attempt_count} attempts, next attempt{' '}
                  <Countdown iso={data.pending.next_attempt_at} />.
                </p>
              ) : (
                <Empty>Nothing is waiting: every delivery has succeeded or failed.</Empty>
              )}
            </div>
          </div>
        </>
      ) : null}
    </section>
  );
}
