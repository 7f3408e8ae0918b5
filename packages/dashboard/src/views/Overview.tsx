import { useCallback, useEffect, useMemo, useState } from 'react';
import { alertText } from '../alerts.js';
import type { Alert } from '../api.js';
import { DeliveriesChart } from '../chart.js';
import { Countdown, Empty, ErrorNotice, Link, LoadMore, StatusBadge, Time, useAsync, usePages } from '../components.js';
import { chartBuckets } from '../delivery-stats.js';
import { useSession } from '../session.js';

const HOUR_MS = 60 * 60 * 1000;
/** Open alerts per page, newest first; "Load more" reads the next. */
const ALERTS_PAGE = 50;
/** Endpoints listed by failed deliveries in the window (the counts above them cover them all). */
const FAILED_SHOWN = 10;
const REFRESH_MS = 15_000;

/**
 * Everything here comes from server aggregates: the stats route counts the chart, the oldest due
 * delivery and the failing and disabled endpoints; GET /v1/alerts pages through the open alerts.
 */
export function Overview() {
  const { api } = useSession();
  const [auto, setAuto] = useState(true);
  const [hours, setHours] = useState(3);
  const state = useAsync(async () => {
    const now = Date.now();
    const since = now - hours * HOUR_MS;
    const stats = await api.stats.deliveries({ since: new Date(since).toISOString(), bucket_seconds: 60 });
    return { now, since, stats, loadedAt: new Date().toISOString() };
  }, [hours]);
  const alerts = usePages<Alert>((cursor) => api.alerts.page({ state: 'open', limit: ALERTS_PAGE, cursor }), []);
  const reloadAlerts = alerts.reload;
  const reloadStats = state.reload;
  const reload = useCallback(() => {
    reloadStats();
    reloadAlerts();
  }, [reloadStats, reloadAlerts]);

  useEffect(() => {
    if (!auto) return;
    const timer = setInterval(reload, REFRESH_MS);
    return () => clearInterval(timer);
  }, [auto, reload]);

  const data = state.data;
  const buckets = useMemo(() => data && chartBuckets(data.stats), [data]);
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
      <ErrorNotice error={state.error ?? alerts.error} />
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
              {alerts.items.length === 0 && !alerts.loading ? (
                <Empty>
                  No open alerts. Herald opens one when an endpoint's attempts fail at the alert rate or a due delivery
                  waits too long, and resolves it when that ends.
                </Empty>
              ) : (
                <ul className="plain" data-testid="open-alerts">
                  {alerts.items.map((alert) => (
                    <li key={alert.id} data-alert={alert.id}>
                      {alertText(alert)}{' '}
                      {alert.endpoint_id ? (
                        <Link to={`/endpoints/${alert.endpoint_id}`}>{alert.endpoint_id}</Link>
                      ) : null}
                      , since <Time iso={alert.opened_at} />
                    </li>
                  ))}
                </ul>
              )}
              <LoadMore next={alerts.next} loading={alerts.loading} onMore={alerts.more} />
            </div>
            <div className="card">
              <h2>Failing or disabled endpoints</h2>
              <p data-testid="endpoint-health">
                <Link to="/endpoints">
                  {data.stats.failing_endpoints} failing, {data.stats.disabled_endpoints} disabled
                </Link>
                .
              </p>
              {data.stats.failed_by_endpoint.length === 0 ? (
                <Empty>No endpoint has failed deliveries in this window.</Empty>
              ) : (
                <ul className="plain" data-testid="failed-by-endpoint">
                  {data.stats.failed_by_endpoint.slice(0, FAILED_SHOWN).map(({ endpoint_id, failed }) => (
                    <li key={endpoint_id}>
                      <Link to={`/endpoints/${endpoint_id}`}>{endpoint_id}</Link>{' '}
                      <Link to={`/failed?endpoint_id=${endpoint_id}`}>{failed} failed</Link>
                    </li>
                  ))}
                </ul>
              )}
            </div>
            <div className="card">
              <h2>Oldest due delivery</h2>
              {data.stats.oldest_due_at && data.stats.oldest_due_delivery_id ? (
                <p data-testid="oldest-due">
                  <Link to={`/deliveries/${data.stats.oldest_due_delivery_id}`}>
                    {data.stats.oldest_due_delivery_id}
                  </Link>
                  , <StatusBadge status="pending" /> <Countdown iso={data.stats.oldest_due_at} /> (
                  <Time iso={data.stats.oldest_due_at} />
                  ).
                </p>
              ) : (
                <Empty>Nothing is due: every delivery has succeeded, failed or waits for its next attempt.</Empty>
              )}
            </div>
          </div>
        </>
      ) : null}
    </section>
  );
}
