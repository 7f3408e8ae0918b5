import { Worker } from 'node:worker_threads';
import { type ClaimedEvent, withLazyData } from './rows.js';
import type { StoreAnswer } from './sqlite-worker.js';
import type { ClaimedDelivery, Store } from './types.js';

/**
 * The SQLite store on a thread of its own. better-sqlite3 is synchronous: on the main thread every
 * statement, and every commit's fsync, stops the event loop, so no request is read and no webhook
 * sent meanwhile. Here the main thread only posts calls; the worker thread runs them in order
 * (so a read sees every write called before it) and the API and the dispatcher keep working while
 * a batch commits. Measured on this 2-core machine with `npm run bench`: see README.
 *
 * Only the built code uses it (a worker thread loads a .js file): `openStore` picks it when
 * running from dist, the in-thread store otherwise (vitest runs the TypeScript sources).
 */
/** What the SQLite thread counted: runs of calls that shared one commit, and the calls in them. */
export interface ThreadStats {
  sharedRuns: number;
  sharedCalls: number;
  /** Shared runs that SQLite abandoned or failed to commit, run again call by call. */
  rerunRuns: number;
}

export async function openThreadedSqliteStore(
  file: string,
  options: { secretKey?: string | undefined },
): Promise<Store & { threadStats(): Promise<ThreadStats> }> {
  const worker = new Worker(new URL('./sqlite-worker.js', import.meta.url), {
    workerData: { file, secretKey: options.secretKey },
  });
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: unknown): void }>();
  let nextId = 1;
  let exited: Error | undefined;

  const methods = await new Promise<string[]>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', (answer: StoreAnswer) => {
      worker.off('error', reject);
      if ('ready' in answer) resolve(answer.ready);
      else if ('failed' in answer)
        reject(Object.assign(new Error(answer.failed.message), { name: answer.failed.name }));
      else reject(new Error('The SQLite thread answered before it was ready.'));
    });
  });

  worker.on('message', (answer: StoreAnswer) => {
    if (!('id' in answer)) return;
    const call = pending.get(answer.id);
    if (!call) return;
    pending.delete(answer.id);
    if ('error' in answer) {
      const { name, message, code } = answer.error;
      call.reject(Object.assign(new Error(message), { name, code }));
    } else call.resolve(answer.result);
  });
  const failAll = (error: Error) => {
    exited = error;
    for (const call of pending.values()) call.reject(error);
    pending.clear();
  };
  worker.on('error', (error) => failAll(error));
  worker.on('exit', () => failAll(new Error('The database connection is not open: the SQLite thread has ended.')));

  function call(method: string, args: unknown[]): Promise<unknown> {
    if (exited) return Promise.reject(exited);
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      worker.postMessage({ id, method, args });
    });
  }

  const store: Record<string, unknown> = { kind: 'sqlite' };
  for (const method of methods) store[method] = (...args: unknown[]) => call(method, args);
  // Claimed events arrive without `data` (sqlite-worker.ts); it is parsed here only if read.
  const withData = (claimed: ClaimedDelivery) => {
    if (claimed && !('data' in claimed.event)) withLazyData(claimed.event as ClaimedEvent);
    return claimed;
  };
  store.claimDueDeliveries = async (...args: unknown[]) =>
    ((await call('claimDueDeliveries', args)) as ClaimedDelivery[]).map(withData);
  store.claimDelivery = async (...args: unknown[]) => {
    const claimed = (await call('claimDelivery', args)) as ClaimedDelivery | undefined;
    return claimed && withData(claimed);
  };
  // Not a Store method: how many calls shared a commit (sqlite-worker.ts), for tests and the bench.
  store.threadStats = () => call('threadStats', []);
  let closing: Promise<void> | undefined;
  store.close = () => {
    closing ??= (async () => {
      if (!exited) await call('close', []);
      await worker.terminate();
    })();
    return closing;
  };
  return store as unknown as Store & { threadStats(): Promise<ThreadStats> };
}
