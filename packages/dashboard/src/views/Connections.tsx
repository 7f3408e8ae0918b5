import { Empty, ErrorNotice, LoadMore, StatusBadge, Time, usePages } from '../components.js';
import { PORTAL } from '../router.js';
import { useSession } from '../session.js';

export function ConnectionList() {
  const { api } = useSession();
  const pages = usePages((cursor) => api.connections.page({ cursor, limit: 50 }), []);
  return (
    <section aria-labelledby="connections-title">
      <div className="toolbar">
        <h1 id="connections-title">Connections</h1>
        <button type="button" onClick={pages.reload}>
          Refresh
        </button>
      </div>
      <ErrorNotice error={pages.error} />
      {!pages.loading && !pages.error && pages.items.length === 0 ? (
        <Empty>
          {PORTAL
            ? 'No connection of yours has synced yet.'
            : 'No connection has reported a sync yet. Producers report them with POST /v1/connections/:id/syncs.'}
        </Empty>
      ) : null}
      {pages.items.length > 0 ? (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Connection</th>
                <th scope="col">Sync status</th>
                <th scope="col">Last successful sync</th>
                <th scope="col">Last error</th>
                <th scope="col">Next scheduled sync</th>
              </tr>
            </thead>
            <tbody>
              {pages.items.map((c) => {
                const id = c.connection_id;
                return (
                  <tr key={id} data-connection={id}>
                    <td>
                      <code>{id}</code>
                    </td>
                    <td data-testid="sync-status">
                      <StatusBadge status={c.status === 'started' ? 'in progress' : c.status} />
                    </td>
                    <td>
                      <Time iso={c.last_successful_sync_at} />
                    </td>
                    <td data-testid="last-error">{c.last_error ?? <span className="muted">—</span>}</td>
                    <td>
                      <Time iso={c.next_scheduled_sync_at} />
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : null}
      <LoadMore next={pages.next} loading={pages.loading} onMore={pages.more} />
    </section>
  );
}
