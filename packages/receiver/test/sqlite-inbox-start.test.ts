/**
 * Processes starting at once on one SQLite inbox file (an application's workers, cluster mode), or
 * beside a process holding its write lock: each opens the inbox instead of failing its start with
 * "database is locked". Real processes on a real file; the racing processes run the BUILT receiver.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { INBOX_SCHEMA_VERSION } from '../src/inbox/schema.js';
import { sqliteInbox } from '../src/inbox/sqlite.js';
import { receiverBuilt } from './support/processes.js';

if (!receiverBuilt()) throw new Error('These tests spawn the built receiver: run `npm run build` first.');

/** The repository root: `node -e` resolves better-sqlite3 from its working directory. */
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const DIST = fileURLToPath(new URL('../dist/index.js', import.meta.url));

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

/**
 * A worker of an application starting: on each line `<file>` of its stdin it opens the SQLite inbox
 * on that file, prints `ok` or `failed <error>`, and closes it. Loaded once, so that an open starts
 * the moment its line arrives, as close to the other processes' as the test can release them.
 */
const OPEN_ON_CUE = `
import { createInterface } from 'node:readline';
const { sqliteInbox } = await import(process.argv[1]);
createInterface({ input: process.stdin }).on('line', async (file) => {
  const inbox = sqliteInbox(file);
  try {
    await inbox.open();
    console.log('ok');
  } catch (error) {
    console.log('failed ' + String(error.message).replaceAll('\\n', ' '));
  } finally {
    await inbox.close();
  }
});
console.log('ready');
`;

const children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(
    children.splice(0).map((child) => {
      if (child.exitCode !== null || child.signalCode !== null) return undefined;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      return exited;
    }),
  );
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function newDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'herald-inbox-start-'));
  dirs.push(dir);
  return dir;
}

/** A node process with `args`; its stdout lines after the first go to `onLine`. Resolves at the first. */
async function child(args: string[], onLine: (line: string) => void): Promise<ChildProcess> {
  const proc = spawn(process.execPath, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(proc);
  let errors = '';
  proc.stderr!.on('data', (chunk: Buffer) => {
    errors += chunk.toString();
  });
  await new Promise<void>((resolve, reject) => {
    let buffer = '';
    let first = true;
    proc.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const line of lines) {
        if (first) resolve();
        else onLine(line);
        first = false;
      }
    });
    proc.once('exit', (code) => reject(new Error(`The process exited with ${code}:\n${errors}`)));
  });
  return proc;
}

/** Starts HOLD_WRITE_LOCK on `file` in a process of its own; resolves once it holds the lock. */
async function holdWriteLock(file: string, holdMs: number): Promise<void> {
  await child(['-e', HOLD_WRITE_LOCK, file, String(holdMs)], () => {});
}

/**
 * Processes of one application starting at once: 4, as many as a small cluster, each racing the
 * others on every round.
 */
const PROCESSES = 4;
/**
 * Rounds, each on a new file. Before the fix 1 to 10 of 240 opens (60 rounds) failed, and 16 to 41
 * of 800 (this many rounds), every one with SQLITE_BUSY at the switch to WAL: this many show it on
 * every run, in a few seconds.
 */
const ROUNDS = 200;

it('opens on every one of several processes starting at once on a new file', async () => {
  let answered: (line: string) => void = () => {};
  const workers = await Promise.all(
    Array.from({ length: PROCESSES }, () =>
      child(['--input-type=module', '-e', OPEN_ON_CUE, DIST], (line) => answered(line)),
    ),
  );
  const dir = newDir();
  const failures: string[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const file = join(dir, `inbox-${round}.db`);
    const answers: string[] = [];
    const all = new Promise<void>((resolve) => {
      answered = (line) => {
        answers.push(line);
        if (answers.length === PROCESSES) resolve();
      };
    });
    for (const worker of workers) worker.stdin!.write(`${file}\n`);
    await all;
    failures.push(...answers.filter((answer) => answer !== 'ok').map((answer) => `round ${round}: ${answer}`));
  }
  expect(failures).toEqual([]);
});

it('opens a new file while another process is starting on it (SQLite refuses the switch to WAL at once)', async () => {
  const file = join(newDir(), 'inbox.db');
  // Long enough that the open below starts while it is held; the open waits it out.
  await holdWriteLock(file, 500);
  const inbox = sqliteInbox(file);
  await inbox.open();
  try {
    expect(await inbox.stats()).toEqual({ pending: 0, oldestPendingAt: null, dead: 0 });
    const unit = inbox.begin();
    expect(await unit.transaction.all('PRAGMA journal_mode')).toEqual([{ journal_mode: 'wal' }]);
    expect(await unit.transaction.all('SELECT version FROM herald_inbox_schema')).toEqual([
      { version: INBOX_SCHEMA_VERSION },
    ]);
  } finally {
    await inbox.close();
  }
});

it('opens an up-to-date file while another process holds its write lock past busy_timeout', async () => {
  const file = join(newDir(), 'inbox.db');
  const first = sqliteInbox(file);
  await first.open();
  await first.close();
  // Longer than busy_timeout (5 s): an open that needs the write lock fails; this one needs none.
  await holdWriteLock(file, 60_000);
  const inbox = sqliteInbox(file);
  await inbox.open();
  try {
    expect(await inbox.stats()).toEqual({ pending: 0, oldestPendingAt: null, dead: 0 });
  } finally {
    await inbox.close();
  }
});
