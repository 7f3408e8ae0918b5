/**
 * The key file `<db>.key` made by processes starting at once on a new SQLite file: one makes it,
 * and every one of them reads the same whole key (none reads it before it is written).
 * Real processes; they run the built module (npm test builds first).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { tempDir } from './temp-dir.js';

const BUILT = new URL('../dist/store/secret-box.js', import.meta.url).href;
if (!existsSync(fileURLToPath(BUILT))) throw new Error('This test runs the built server: run `npm run build` first.');

/** Waits for a line on stdin (all are released at once), then makes or reads the key file. */
const START = `
import { loadOrCreateKeyFile } from ${JSON.stringify(BUILT)};
process.stdin.once('data', () => {
  try {
    console.log('key ' + loadOrCreateKeyFile(process.argv[1]).toString('base64'));
  } catch (error) {
    console.log('failed ' + error.message);
  }
  process.exit(0);
});
console.log('ready');
`;

/** Processes per round: as many as the fleet tests start on one file. */
const PROCESSES = 4;
/** Rounds: when a process could read the key file before it was written, about one round in four failed. */
const ROUNDS = 15;

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A process that makes or reads the key file at `path` once released; its answer is `key …` or `failed …`. */
function starter(path: string): { child: ChildProcess; ready: Promise<void>; answer: Promise<string> } {
  const child = spawn(process.execPath, ['--input-type=module', '-e', START, path], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let output = '';
  let onReady: () => void;
  const ready = new Promise<void>((resolve) => {
    onReady = resolve;
  });
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    if (output.includes('ready\n')) onReady();
  });
  const answer = new Promise<string>((resolve) =>
    child.once('exit', () => resolve(output.replace('ready\n', '').trim())),
  );
  return { child, ready, answer };
}

it(`is made once and read whole by ${PROCESSES} processes starting at once`, { timeout: 60_000 }, async () => {
  for (let round = 0; round < ROUNDS; round++) {
    const tmp = tempDir('herald-key-file-');
    cleanups.push(tmp.remove);
    const path = join(tmp.dir, 'herald.db.key');
    const starters = Array.from({ length: PROCESSES }, () => starter(path));
    await Promise.all(starters.map((s) => s.ready));
    for (const s of starters) s.child.stdin!.end('go\n');
    const answers = await Promise.all(starters.map((s) => s.answer));
    expect(
      answers.filter((a) => !a.startsWith('key ')),
      `round ${round}`,
    ).toEqual([]);
    expect(new Set(answers).size, `round ${round}`).toBe(1);
  }
});
