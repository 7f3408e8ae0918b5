import { secretBoxFor } from './secret-box.js';
import type { Store } from './types.js';

/**
 * `postgres://…` (optionally `?schema=name`) selects PostgreSQL; anything else is a SQLite file path.
 * `secretKey` is HERALD_SECRET_KEY; without it a SQLite store keeps its key in `<db>.key` and a
 * PostgreSQL store refuses to open (store/secret-box.ts).
 *
 * Each store's modules are loaded only when it is chosen: a process on SQLite never loads pg, and
 * the threaded SQLite store leaves better-sqlite3 and Kysely to its thread (measured: an idle
 * `herald serve` on SQLite 141 → 125 MB RSS with the imports made lazy).
 */
export async function openStore(db: string, options: { secretKey?: string | undefined } = {}): Promise<Store> {
  const secretBox = secretBoxFor(db, options.secretKey);
  if (/^postgres(ql)?:\/\//.test(db)) {
    const { openPostgresStore } = await import('./postgres.js');
    return openPostgresStore(db, { secretBox });
  }
  // The built server runs SQLite on a thread of its own (sqlite-thread.ts); the TypeScript sources
  // under vitest, an in-memory database, and HERALD_SQLITE_THREAD=0 run it on the main thread.
  const threaded = import.meta.url.endsWith('.js') && db !== ':memory:' && process.env.HERALD_SQLITE_THREAD !== '0';
  if (threaded) {
    const { openThreadedSqliteStore } = await import('./sqlite-thread.js');
    return openThreadedSqliteStore(db, { secretKey: options.secretKey });
  }
  const { openSqliteStore } = await import('./sqlite.js');
  return openSqliteStore(db, { secretBox });
}
