import { type FormEvent, useState } from 'react';
import { type Delivery, given } from '../api.js';
import { Empty, ErrorNotice, Link, LoadMore, StatusBadge, usePages, WriteButton } from '../components.js';
import { navigate, query, useLocation } from '../router.js';
import { useSession } from '../session.js';
import { DeliveryColumnHeads, DeliveryColumns } from './delivery-columns.js';

const POLL_MS = 400;

interface Progress {
  label: string;
  state: 'running' | 'completed' | 'failed';
  total: number;
  done: number;
  succeeded: number;
  failed: number;
}

function ProgressView({ progress }: { progress: Progress }) {
  const finished = progress.state !== 'running';
  return (
    <div className="card progress" data-testid="bulk-progress" data-state={progress.state}>
      <label>
        {progress.label}: {progress.done} of {progress.total}
        <progress max={Math.max(1, progress.total)} value={progress.done} />
      </label>
      <p role="status" aria-live="polite" data-testid="bulk-result">
        {finished
          ? `Bulk retry ${progress.state}: ${progress.succeeded} succeeded, ${progress.failed} failed, of ${progress.total}.`
          : `Retrying… ${progress.succeeded} succeeded, ${progress.failed} failed so far.`}
      </p>
    </div>
  );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function FailedList() {
  const { api } = useSession();
  const { search } = useLocation();
  const endpointId = search.get('endpoint_id') ?? '';
  const [form, setForm] = useState(endpointId);
  const pages = usePages(
    (cursor) => api.deliveries.page({ status: 'failed', endpoint_id: given(endpointId), cursor, limit: 50 }),
    [endpointId],
  );
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [allMatching, setAllMatching] = useState(false);
  const [progress, setProgress] = useState<Progress | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [retrying, setRetrying] = useState<string | null>(null);
  const running = progress?.state === 'running';

  const replace = (after: Delivery) =>
    pages.setItems((items) => items.map((d) => (d.id === after.id ? { ...d, ...after } : d)));

  const retryOne = async (id: string) => {
    setError(null);
    setRetrying(id);
    try {
      replace(await api.deliveries.retry(id));
    } catch (e) {
      setError(e);
    } finally {
      setRetrying(null);
    }
  };

  /** Several chosen rows: one manual retry each, four at a time. */
  const retrySelected = async () => {
    const ids = [...selected];
    const p: Progress = {
      label: 'Retrying the selected deliveries',
      state: 'running',
      total: ids.length,
      done: 0,
      succeeded: 0,
      failed: 0,
    };
    setProgress({ ...p });
    const work = async () => {
      for (let id = ids.shift(); id !== undefined; id = ids.shift()) {
        try {
          const after = await api.deliveries.retry(id);
          replace(after);
          if (after.status === 'succeeded') p.succeeded++;
          else p.failed++;
        } catch (e) {
          setError(e);
          p.failed++;
        }
        p.done++;
        setProgress({ ...p });
      }
    };
    await Promise.all([work(), work(), work(), work()]);
    setProgress({ ...p, state: 'completed' });
    setSelected(new Set());
  };

  /** Every failed delivery matching the filter, as a background job on the server. */
  const retryAllMatching = async () => {
    const started = await api.deliveries.retryFailed(endpointId ? { endpoint_id: endpointId } : {});
    setProgress({
      label: `Bulk retry job ${started.job_id}`,
      state: 'running',
      total: started.total,
      done: 0,
      succeeded: 0,
      failed: 0,
    });
    for (;;) {
      const job = await api.jobs.get(started.job_id);
      setProgress({ label: `Bulk retry job ${job.id}`, ...job });
      if (job.state !== 'running') break;
      await sleep(POLL_MS);
    }
    setAllMatching(false);
    pages.reload();
  };

  const bulk = async () => {
    setError(null);
    try {
      if (allMatching) await retryAllMatching();
      else await retrySelected();
    } catch (e) {
      setError(e);
      setProgress((p) => (p ? { ...p, state: 'failed' } : p));
    }
  };

  const toggle = (id: string) =>
    setSelected((s) => {
      const next = new Set(s);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  const pageIds = pages.items.map((d) => d.id);
  const allOnPage = pageIds.length > 0 && pageIds.every((id) => selected.has(id));

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSelected(new Set());
    navigate(`/failed${query({ endpoint_id: form.trim() })}`);
  };

  return (
    <section aria-labelledby="failed-title">
      <h1 id="failed-title">Failed webhooks</h1>
      <p className="muted">
        Deliveries that failed every automatic attempt. Fix the receiver, then retry them here; a retry is one immediate
        attempt.
      </p>
      <form className="filters" onSubmit={submit} aria-label="Filter failed deliveries">
        <label>
          Endpoint id
          <input value={form} onChange={(e) => setForm(e.target.value)} placeholder="ep_…" />
        </label>
        <button type="submit">Filter</button>
      </form>
      <div className="toolbar bulk">
        <label className="inline">
          <input
            type="checkbox"
            checked={allMatching}
            onChange={(e) => setAllMatching(e.target.checked)}
            disabled={running}
          />{' '}
          All matching{endpointId ? ' this endpoint' : ''} (not just the selected rows)
        </label>
        <WriteButton onClick={bulk} disabled={running || (!allMatching && selected.size === 0)}>
          {allMatching ? 'Retry all matching' : `Retry ${selected.size} selected`}
        </WriteButton>
      </div>
      {progress ? <ProgressView progress={progress} /> : null}
      <ErrorNotice error={error} />
      <ErrorNotice error={pages.error} />
      {!pages.loading && !pages.error && pages.items.length === 0 ? (
        <Empty>No failed deliveries{endpointId ? ' for this endpoint' : ''}. Nothing to retry.</Empty>
      ) : null}
      {pages.items.length > 0 ? (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">
                  <input
                    type="checkbox"
                    aria-label="Select every row on this page"
                    checked={allOnPage}
                    onChange={() => setSelected(allOnPage ? new Set() : new Set(pageIds))}
                  />
                </th>
                <th scope="col" className="hide-narrow">
                  Delivery
                </th>
                <th scope="col">Status</th>
                <DeliveryColumnHeads />
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {pages.items.map((d) => (
                <tr key={d.id} data-delivery={d.id}>
                  <td>
                    <input
                      type="checkbox"
                      aria-label={`Select ${d.id}`}
                      checked={selected.has(d.id)}
                      onChange={() => toggle(d.id)}
                    />
                  </td>
                  <td className="hide-narrow">
                    <Link to={`/deliveries/${d.id}`}>{d.id}</Link>
                  </td>
                  <td data-testid="status">
                    <StatusBadge status={d.status} />
                  </td>
                  <DeliveryColumns d={d} />
                  <td>
                    <WriteButton
                      onClick={() => retryOne(d.id)}
                      disabled={retrying === d.id}
                      aria-label={`Retry ${d.id}`}
                    >
                      {retrying === d.id ? 'Retrying…' : 'Retry'}
                    </WriteButton>
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
