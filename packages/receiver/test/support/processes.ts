import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../fixtures/receiver-process.js', import.meta.url));
const DIST = fileURLToPath(new URL('../../dist/index.js', import.meta.url));

export function receiverBuilt(): boolean {
  return existsSync(DIST);
}

export interface ReceiverProcess {
  url: string;
  child: ChildProcess;
  /** Ids the process printed as handled. */
  handled: string[];
  /** What it wrote on stderr so far (its logger's errors). */
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Spawns test/fixtures/receiver-process.js (the built library) and waits until it listens.
 * To run it as another user, pass RUN_AS_UID (and RUN_AS_GID) in env: the process switches once
 * its modules are loaded (see the fixture for why it is not spawned as that user).
 */
export async function spawnReceiver(env: Record<string, string>): Promise<ReceiverProcess> {
  const child = spawn(process.execPath, [SCRIPT], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const handled: string[] = [];
  let output = '';
  let buffer = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`The receiver process did not start:\n${output}`)), 15_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const line of lines) {
        if (line.startsWith('handled ')) handled.push(line.slice(8));
        else if (line.startsWith('listening ')) {
          clearTimeout(timer);
          resolve(line.slice(10));
        }
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`The receiver process exited with ${code}:\n${output}`));
    });
  });
  return {
    url,
    child,
    handled,
    output: () => output,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill(signal);
      await exited;
    },
  };
}
