import { parentPort, workerData } from 'node:worker_threads';
import type { ClaimedEvent } from './rows.js';
import { secretBoxFor } from './secret-box.js';
import { openSqliteStore } from './sqlite.js';
import type { ClaimedDelivery, Store } from './types.js';

/**
 * The thread that owns the SQLite connection (see sqlite-thread.ts). It runs the calls it is sent
 * one at a time, in the order they were sent, and answers each with its result or its error.
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

let store: Store;
try {
  store = openSqliteStore(file, { secretBox: secretBoxFor(file, secretKey) });
} catch (error) {
  port.postMessage({ failed: plainError(error) } satisfies StoreAnswer);
  process.exit(1);
}

const methods = Object.keys(store).filter(
  (name) => typeof (store as unknown as Record<string, unknown>)[name] === 'function',
);
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

port.on('message', async ({ id, method, args }: StoreCall) => {
  try {
    let result = await callable[method]?.apply(store, args);
    if (CLAIMS.has(method) && result !== undefined) {
      result =
        method === 'claimDelivery'
          ? withoutData([result as ClaimedDelivery])[0]
          : withoutData(result as ClaimedDelivery[]);
    }
    port.postMessage({ id, result } satisfies StoreAnswer);
  } catch (error) {
    port.postMessage({ id, error: plainError(error) } satisfies StoreAnswer);
  }
  if (method === 'close') port.close();
});
port.postMessage({ ready: methods } satisfies StoreAnswer);
