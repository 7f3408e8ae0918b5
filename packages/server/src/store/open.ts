import { openPostgresStore } from './postgres.js';
import { secretBoxFor } from './secret-box.js';
import { openSqliteStore } from './sqlite.js';
import { openThreadedSqliteStore } from './sqlite-thread.js';
import type { Store } from './types.js';

/**
 * `postgres://…` (optionally `?schema=name`) selects PostgreSQL; anything else is a SQLite file path.
 * `secretKey` is HERALD_SECRET_KEY; without it a SQLite store keeps its key in `<db>.key` and a
 * PostgreSQL store refuses to open (store/secret-box.ts).
 */
export async function openStore(db: string, options: { secretKey?: string | undefined } = {}): Promise<Store> {
  const secretBox = secretBoxFor(db, options.secretKey);
  if (/^postgres(ql)?:\/\//.test(db)) return openPostgresStore(db, { secretBox });
  // The built server runs SQLite on a thread of its own (sqlite-thread.ts); the TypeScript sources
  // under vitest, an in-memory database, and HERALD_SQLITE_THREAD=0 run it on the main thread.
  const threaded = import.meta.url.endsWith('.js') && db !== ':memory:' && process.env.HERALD_SQLITE_THREAD !== '0';
  if (threaded) return openThreadedSqliteStore(db, { secretKey: options.secretKey });
  return openSqliteStore(db, { secretBox });
}
