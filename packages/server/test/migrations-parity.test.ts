import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openPostgresStore } from '../src/store/postgres.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import { findPostgres, testSchema } from './pg-database.js';
import { tempDir } from './temp-dir.js';

/**
 * The SQLite and PostgreSQL migrations are twins written by hand (rows.ts and reads.ts serve both):
 * this test migrates a fresh database of each and compares what came out, so a column, an index or
 * a NOT NULL added to one and forgotten in the other fails here instead of in production.
 */
const pgUrl = await findPostgres();

interface Shape {
  /** table → column → "type null|not null" (types in SQLite's words) */
  columns: Record<string, Record<string, string>>;
  /** table → primary key columns */
  primaryKeys: Record<string, string[]>;
  /** index name → "table(columns) unique? partial?" (indexes that back a PRIMARY KEY or UNIQUE constraint left out) */
  indexes: Record<string, string>;
}

/** Tables that only one dialect has, on purpose. */
const ONLY_IN_POSTGRES = new Set([
  // feed_seq is taken under this row's lock, so feed order is commit order (postgres.ts, publishIn).
  'feed_counter',
  // The migration ledger; SQLite keeps it in PRAGMA user_version.
  'herald_migrations',
]);
/** SQLite's own bookkeeping for AUTOINCREMENT. */
const ONLY_IN_SQLITE = new Set(['sqlite_sequence']);

/** PostgreSQL's column types in SQLite's words: how the twins map each. */
const PG_TYPE: Record<string, string> = {
  bigint: 'INTEGER',
  integer: 'INTEGER',
  text: 'TEXT',
  'double precision': 'REAL',
};

function describeIndex(table: string, columns: string[], unique: boolean, partial: boolean): string {
  return `${table}(${columns.join(', ')})${unique ? ' unique' : ''}${partial ? ' partial' : ''}`;
}

function sqliteShape(): Shape {
  const tmp = tempDir('herald-parity-');
  const store = openSqliteStore(join(tmp.dir, 'herald.db'));
  try {
    const db = store.database;
    const shape: Shape = { columns: {}, primaryKeys: {}, indexes: {} };
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as Array<{
      name: string;
    }>;
    for (const { name } of tables) {
      if (ONLY_IN_SQLITE.has(name)) continue;
      const info = db.prepare(`PRAGMA table_info(${name})`).all() as Array<{
        name: string;
        type: string;
        notnull: number;
        pk: number;
      }>;
      shape.columns[name] = Object.fromEntries(
        // A PRIMARY KEY column is NOT NULL in PostgreSQL; SQLite reports the constraint on the key alone.
        info.map((c) => [c.name, `${c.type.toUpperCase()} ${c.notnull || c.pk ? 'not null' : 'null'}`]),
      );
      shape.primaryKeys[name] = info
        .filter((c) => c.pk > 0)
        .sort((a, b) => a.pk - b.pk)
        .map((c) => c.name);
      const indexes = db.prepare(`PRAGMA index_list(${name})`).all() as Array<{
        name: string;
        unique: number;
        origin: string;
        partial: number;
      }>;
      for (const index of indexes) {
        if (index.origin !== 'c') continue; // pk / u: the constraint's own index
        const columns = (db.prepare(`PRAGMA index_info(${index.name})`).all() as Array<{ name: string }>).map(
          (c) => c.name,
        );
        shape.indexes[index.name] = describeIndex(name, columns, index.unique === 1, index.partial === 1);
      }
    }
    return shape;
  } finally {
    store.database.close();
    tmp.remove();
  }
}

async function postgresShape(url: string): Promise<Shape> {
  const schema = testSchema(url, 'herald_parity');
  const store = await openPostgresStore(schema.url);
  try {
    const shape: Shape = { columns: {}, primaryKeys: {}, indexes: {} };
    const columns = await store.pool.query<{
      table_name: string;
      column_name: string;
      data_type: string;
      is_nullable: string;
    }>(
      `SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns
       WHERE table_schema = $1 ORDER BY table_name, ordinal_position`,
      [schema.schema],
    );
    for (const c of columns.rows) {
      if (ONLY_IN_POSTGRES.has(c.table_name)) continue;
      shape.columns[c.table_name] ??= {};
      const type = PG_TYPE[c.data_type] ?? `unmapped ${c.data_type}`;
      (shape.columns[c.table_name] as Record<string, string>)[c.column_name] =
        `${type} ${c.is_nullable === 'YES' ? 'null' : 'not null'}`;
    }
    const keys = await store.pool.query<{ table_name: string; column_name: string }>(
      `SELECT k.table_name, k.column_name FROM information_schema.table_constraints t
       JOIN information_schema.key_column_usage k
         ON k.constraint_name = t.constraint_name AND k.table_schema = t.table_schema
       WHERE t.table_schema = $1 AND t.constraint_type = 'PRIMARY KEY'
       ORDER BY k.table_name, k.ordinal_position`,
      [schema.schema],
    );
    for (const k of keys.rows) {
      if (ONLY_IN_POSTGRES.has(k.table_name)) continue;
      shape.primaryKeys[k.table_name] = [...(shape.primaryKeys[k.table_name] ?? []), k.column_name];
    }
    const indexes = await store.pool.query<{
      index: string;
      table: string;
      unique: boolean;
      partial: boolean;
      columns: string[];
    }>(
      `SELECT i.relname AS index, t.relname AS table, ix.indisunique AS unique, ix.indpred IS NOT NULL AS partial,
              array(SELECT a.attname FROM unnest(ix.indkey) WITH ORDINALITY AS k(attnum, n)
                    JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.n)::text[] AS columns
       FROM pg_index ix
       JOIN pg_class i ON i.oid = ix.indexrelid
       JOIN pg_class t ON t.oid = ix.indrelid
       JOIN pg_namespace ns ON ns.oid = t.relnamespace
       WHERE ns.nspname = $1 AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid)`,
      [schema.schema],
    );
    for (const ix of indexes.rows) {
      if (ONLY_IN_POSTGRES.has(ix.table)) continue;
      shape.indexes[ix.index] = describeIndex(ix.table, ix.columns, ix.unique, ix.partial);
    }
    for (const table of Object.keys(shape.columns)) shape.primaryKeys[table] ??= [];
    return shape;
  } finally {
    await store.close();
    await schema.drop();
  }
}

describe.skipIf(pgUrl === null)('migrations', () => {
  it('give SQLite and PostgreSQL the same tables, columns, keys and indexes', async () => {
    const sqlite = sqliteShape();
    const postgres = await postgresShape(pgUrl as string);
    expect(Object.keys(sqlite.columns).length).toBeGreaterThan(10);
    expect(postgres.columns).toEqual(sqlite.columns);
    expect(postgres.primaryKeys).toEqual(sqlite.primaryKeys);
    expect(postgres.indexes).toEqual(sqlite.indexes);
  });
});
if (pgUrl === null) describe.skip('migrations parity (no PostgreSQL reachable)', () => it('compares', () => {}));
