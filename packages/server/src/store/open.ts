import { openPostgresStore } from './postgres.js';
import { openSqliteStore } from './sqlite.js';
import type { Store } from './types.js';

/** `postgres://…` (optionally `?schema=name`) selects PostgreSQL; anything else is a SQLite file path. */
export async function openStore(db: string): Promise<Store> {
  if (/^postgres(ql)?:\/\//.test(db)) return openPostgresStore(db);
  return openSqliteStore(db);
}
