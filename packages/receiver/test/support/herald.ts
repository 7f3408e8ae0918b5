import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient, type HeraldClient } from '@herald/client';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const BIN = join(ROOT, 'packages/server/bin/herald.js');
const ADMIN_KEY = `hk_test_${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;

export interface Herald {
  url: string;
  adminKey: string;
  /** @herald/client with the admin key: its HeraldError on an error answer. */
  api: HeraldClient;
  stop(): Promise<void>;
}

/** Whether the sender is built (system tests spawn the built `herald`; `npm test` builds first). */
export function heraldBuilt(): boolean {
  return (
    existsSync(join(ROOT, 'packages/server/dist/cli.js')) || existsSync(join(ROOT, 'packages/server/dist/index.js'))
  );
}

/** Starts the real `herald serve` on a free port with its own SQLite file. */
export async function startHerald(flags: string[] = []): Promise<Herald> {
  const dir = mkdtempSync(join(tmpdir(), 'herald-sender-'));
  const child: ChildProcess = spawn(
    process.execPath,
    [
      BIN,
      'serve',
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--db',
      join(dir, 'herald.db'),
      '--allow-private-networks',
      ...flags,
    ],
    { env: { ...process.env, HERALD_BOOTSTRAP_KEY: ADMIN_KEY }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`herald serve did not start in 15 s:\n${output}`)), 15_000);
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /running on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', read);
    child.stderr!.on('data', read);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`herald serve exited with ${code}:\n${output}`));
    });
  });
  return {
    url,
    adminKey: ADMIN_KEY,
    api: createClient({ url, apiKey: ADMIN_KEY }),
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
