import { parentPort, workerData } from 'node:worker_threads';
import type { ClaimedEvent } from './rows.js';
import { secretBoxFor } from './secret-box.js';
import { openSqliteStore, type SqliteStore } from './sqlite.js';
import type { ClaimedDelivery } from './types.js';

/**
 * The thread that owns the SQLite connection (see sqlite-thread.ts). It runs the calls it is sent
 * in the order they were sent, and answers each with its result or its error.
 *
 * Calls that queue up while it works are taken together: a run of consecutive hot writes
 * (BATCHED: publishes, attempt records, claims) shares one transaction and so one commit, one
 * fsync, instead of one each. On a busy sender that is most of the thread's time: paced publishes
 * commit 2–5 events at a time, attempt records ~50 times a second, and every claim used to wait
 * behind each of their fsyncs (docs/latency.md). Each call keeps its own transaction inside the
 * shared one (better-sqlite3 nests a transaction as a savepoint), so a call that fails rolls back
 * alone and the others commit; no answer is sent before the commit, so an answer still means
 * "on disk". When SQLite abandons the shared transaction (a full disk, an I/O error) or its commit
 * fails, nothing of it was written, and every call of the run is run again on its own.
 */

export interface StoreCall {
  id: number;
  method: string;
  args: unknown[];
}

export type StoreAnswer =
  | { id: number; result: unknown }
  | { id: number; error: { name: string; message: string; code?: unknown } }
  | { ready: string[] }
  | { failed: { name: string; message: string } };

const port = parentPort;
if (!port) throw new Error('sqlite-worker.js runs as a worker thread.');
const { file, secretKey } = workerData as { file: string; secretKey: string | undefined };

function plainError(error: unknown): { name: string; message: string; code?: unknown } {
  const e = error instanceof Error ? error : new Error(String(error));
  return { name: e.name, message: e.message, code: (e as { code?: unknown }).code };
}

let store: SqliteStore;
try {
  store = openSqliteStore(file, { secretBox: secretBoxFor(file, secretKey) });
} catch (error) {
  port.postMessage({ failed: plainError(error) } satisfies StoreAnswer);
  process.exit(1);
}

const methods = Object.keys(store).filter(
  (name) => typeof (store as unknown as Record<string, unknown>)[name] === 'function',
);
const sqlite = store.database;
const callable = store as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;

/** Claims carry each event's stored JSON text; its parsed `data` stays behind (withLazyData restores it). */
const CLAIMS = new Set(['claimDueDeliveries', 'claimDelivery']);

function withoutData(claimed: ClaimedDelivery[]): unknown[] {
  const events = new Map<ClaimedEvent, unknown>();
  return claimed.map(({ delivery, claim, endpoint, event }) => {
    const e = event as ClaimedEvent;
    let plain = events.get(e);
    if (!plain) {
      const { id, accountId, type, occurredAt, connectionId, createdAt, feedSeq, dataJson } = e;
      plain = { id, accountId, type, occurredAt, connectionId, createdAt, feedSeq, dataJson };
      events.set(e, plain);
    }
    return { delivery, claim, endpoint, event: plain };
  });
}

/**
 * Writes whose store method is one synchronous better-sqlite3 transaction (sqlite.ts): safe to run
 * inside a shared one. A claim commits without an fsync of its own (sqlite.ts), so a run of claims
 * alone is not worth sharing: a run is shared only when it holds a durable write.
 */
const BATCHED = new Set(['publish', 'recordAttempts', 'releaseClaims', 'claimDueDeliveries']);
const DURABLE = new Set(['publish', 'recordAttempts', 'releaseClaims']);

/** Runs one call; its answer. */
async function run({ id, method, args }: StoreCall): Promise<StoreAnswer> {
  try {
    let result = await callable[method]?.apply(store, args);
    if (CLAIMS.has(method) && result !== undefined) {
      result =
        method === 'claimDueDeliveries'
          ? withoutData(result as ClaimedDelivery[])
          : withoutData([result as ClaimedDelivery])[0];
    }
    return { id, result };
  } catch (error) {
    return { id, error: plainError(error) };
  }
}

/** Counts for the tests and the bench (method `threadStats`): commits saved are calls − runs. */
const stats = { sharedRuns: 0, sharedCalls: 0, rerunRuns: 0 };

/** A run of BATCHED calls in one transaction (see the top of this file); their answers, in order. */
async function runShared(calls: StoreCall[]): Promise<StoreAnswer[]> {
  try {
    sqlite.prepare('BEGIN IMMEDIATE').run();
  } catch {
    // The write lock could not be had (another process held it past busy_timeout): each call on
    // its own, which answers each with what it meets.
    return runEach(calls);
  }
  const answers: StoreAnswer[] = [];
  for (const call of calls) {
    answers.push(await run(call));
    if (!sqlite.inTransaction) break;
  }
  if (sqlite.inTransaction && answers.length === calls.length) {
    try {
      sqlite.prepare('COMMIT').run();
      stats.sharedRuns++;
      stats.sharedCalls += calls.length;
      return answers;
    } catch {
      if (sqlite.inTransaction) sqlite.prepare('ROLLBACK').run();
    }
  }
  // SQLite abandoned the transaction, or its commit failed: nothing of it is on disk.
  stats.rerunRuns++;
  return runEach(calls);
}

async function runEach(calls: StoreCall[]): Promise<StoreAnswer[]> {
  const answers: StoreAnswer[] = [];
  for (const call of calls) answers.push(await run(call));
  return answers;
}

let queue: StoreCall[] = [];
let draining = false;

/** Every call that arrived meanwhile, in order: runs of BATCHED calls shared, the rest one by one. */
async function drain(): Promise<void> {
  draining = true;
  try {
    while (queue.length > 0) {
      const calls = queue;
      queue = [];
      for (let i = 0; i < calls.length; ) {
        let end = i;
        while (end < calls.length && BATCHED.has(calls[end]!.method)) end++;
        const shared = calls.slice(i, end);
        if (shared.length > 1 && shared.some((c) => DURABLE.has(c.method))) {
          for (const answer of await runShared(shared)) port!.postMessage(answer);
          i = end;
          continue;
        }
        const call = calls[i]!;
        if (call.method === 'threadStats') port!.postMessage({ id: call.id, result: { ...stats } });
        else port!.postMessage(await run(call));
        if (call.method === 'close') {
          port!.close();
          return;
        }
        i++;
      }
    }
  } finally {
    draining = false;
  }
}

port.on('message', (call: StoreCall) => {
  queue.push(call);
  // After this turn's messages have all arrived (setImmediate runs once the port's queue is read).
  if (!draining && queue.length === 1) setImmediate(drain);
});
port.postMessage({ ready: methods } satisfies StoreAnswer);
