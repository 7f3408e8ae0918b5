import { openSqliteStore } from './sqlite.js';
import type { Store } from './types.js';

/** `postgres://…` selects PostgreSQL; anything else is a SQLite file path. */
export async function openStore(db: string): Promise<Store> {
  if (/^postgres(ql)?:\/\//.test(db)) {
    throw new Error('The PostgreSQL store is not built yet: use a SQLite file for --db.');
  }
  return openSqliteStore(db);
}
