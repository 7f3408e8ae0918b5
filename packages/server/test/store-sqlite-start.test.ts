/**
 * A process opening the SQLite store while other processes hold the file's write lock: it waits
 * for them instead of failing its start with "database is locked". Real processes on a real file.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { openSqliteStore } from '../src/store/sqlite.js';
import { SQLITE_MIGRATIONS } from '../src/store/sqlite-migrations.js';
import { tempDir } from './temp-dir.js';

/** The repository root: `node -e` resolves better-sqlite3 from its working directory. */
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/**
 * Takes the file's write lock with a first write and holds it for `holdMs`: what the first of
 * several processes starting at once on a new file does, or a long write on a file in use.
 */
const HOLD_WRITE_LOCK = `
const db = new (require('better-sqlite3'))(process.argv[1]);
db.exec('BEGIN IMMEDIATE; CREATE TABLE holder (x)');
console.log('holding');
setTimeout(() => db.exec('COMMIT'), Number(process.argv[2]));
`;

const children: ChildProcess[] = [];
const cleanups: Array<() => void> = [];
afterEach(async () => {
  await Promise.all(
    children.splice(0).map((child) => {
      if (child.exitCode !== null || child.signalCode !== null) return undefined;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      return exited;
    }),
  );
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** Starts `script` on `file` in a process of its own; resolves once it holds the write lock. */
async function holder(script: string, args: string[]): Promise<void> {
  const child = spawn(process.execPath, ['-e', script, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let errors = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    errors += chunk.toString();
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('holding')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`The holding process exited with ${code}:\n${errors}`)));
  });
}

function newFile(): string {
  const tmp = tempDir('herald-sqlite-start-');
  cleanups.push(tmp.remove);
  return join(tmp.dir, 'herald.db');
}

it('opens a new file while another process is starting on it (SQLite refuses the switch to WAL at once)', async () => {
  const file = newFile();
  // Long enough that the open below starts while it is held; the open waits it out.
  await holder(HOLD_WRITE_LOCK, [file, '500']);
  const store = openSqliteStore(file);
  try {
    expect(store.database.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(store.database.pragma('user_version', { simple: true })).toBe(SQLITE_MIGRATIONS.length);
    expect(await store.countActiveAdminKeys()).toBe(0);
  } finally {
    await store.close();
  }
});

it('opens an up-to-date file while another process holds its write lock past busy_timeout', async () => {
  const file = newFile();
  await openSqliteStore(file).close();
  // Longer than busy_timeout (5 s): a start that needs the write lock fails; this one needs none.
  await holder(HOLD_WRITE_LOCK, [file, '60000']);
  const store = openSqliteStore(file);
  try {
    expect(await store.countActiveAdminKeys()).toBe(0);
  } finally {
    await store.close();
  }
});
