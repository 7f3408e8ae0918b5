/**
 * A read-only inbox file (a volume mounted read-only, a file owned by another user): the processor
 * says so once, naming the file, and backs off, rather than logging a failed claim every poll.
 * Runs the BUILT receiver as the unprivileged user 65534 (root writes every file whatever its mode).
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { sqliteInbox } from '../src/inbox/sqlite.js';
import { type ReceiverProcess, receiverBuilt, spawnReceiver } from './support/processes.js';
import { envelope, post, SECRET, signed } from './support/webhooks.js';

if (!receiverBuilt()) throw new Error('These tests spawn the built receiver: run `npm run build` first.');

const asRoot = process.getuid?.() === 0;
const processes: ReceiverProcess[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(processes.splice(0).map((p) => p.kill()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('a read-only inbox', () => {
  it('is reported once, naming its file, while the processor backs off; the route answers 503', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-readonly-'));
    dirs.push(dir);
    const file = join(dir, 'inbox.db');
    const inbox = sqliteInbox(file);
    await inbox.open();
    await inbox.close();
    // The directory stays writable (SQLite keeps its -wal and -shm files there); the inbox is not.
    chmodSync(dir, 0o777);
    chmodSync(file, 0o444);
    const nobody: Record<string, string> = asRoot ? { RUN_AS_UID: '65534', RUN_AS_GID: '65534' } : {};
    const receiver = await spawnReceiver({ INBOX_URL: file, SECRET, ...nobody });
    processes.push(receiver);
    // The process polls every 20 ms: 100 failed claims in 2 s.
    await sleep(2000);
    expect((await post(receiver.url, signed(envelope()))).status).toBe(503);
    const failures = receiver
      .output()
      .split('\n')
      .filter((line) => line.includes('claiming from the inbox failed'));
    expect(failures).toHaveLength(1);
    expect(failures[0]).toContain(file);
    expect(failures[0]).toMatch(/readonly/);
  });
});
