import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manualClock } from '@herald/protocol';
import { afterEach } from 'vitest';
import { sqliteInbox } from '../../src/inbox/sqlite.js';
import type { Logger } from '../../src/log.js';
import { createReceiver, type Receiver, type ReceiverOptions } from '../../src/receiver.js';
import { SECRET } from './webhooks.js';

/** A logger that keeps what it was told, for tests to read. */
export function memoryLogger(): Logger & { lines: { level: string; message: string; fields: unknown }[] } {
  const lines: { level: string; message: string; fields: unknown }[] = [];
  return {
    lines,
    info: (fields, message) => lines.push({ level: 'info', message, fields }),
    warn: (fields, message) => lines.push({ level: 'warn', message, fields }),
    error: (fields, message) => lines.push({ level: 'error', message, fields }),
  };
}

/**
 * Receivers on SQLite files in a temp dir, with a manual clock set to now (so signatures made with
 * the real time verify) and a memory logger; stopped and removed after each test.
 */
export function receiverFixture() {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** A temp dir; `memory: true` puts it on tmpfs (/dev/shm) when the machine has one. */
  function tempDir(options: { memory?: boolean } = {}): string {
    const base = options.memory && existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
    const dir = mkdtempSync(join(base, 'herald-receiver-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  }

  function make(options: Partial<ReceiverOptions> = {}, where: { memory?: boolean } = {}) {
    const clock = manualClock(Date.now());
    const logger = memoryLogger();
    const dir = tempDir(where);
    const receiver: Receiver = createReceiver({
      secret: SECRET,
      inbox: sqliteInbox(join(dir, 'inbox.db')),
      on: {},
      clock,
      logger,
      pollInterval: '5ms',
      ...options,
    });
    cleanups.push(() => receiver.stop());
    return { receiver, clock, logger, dir };
  }

  /** Serves a request listener on 127.0.0.1, port 0; closed after the test. */
  async function serve(listener: Parameters<typeof createServer>[1]): Promise<{ url: string; server: Server }> {
    const server = createServer(listener);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
  }

  return { make, serve, tempDir, onCleanup: (f: () => Promise<void> | void) => cleanups.push(f) };
}
