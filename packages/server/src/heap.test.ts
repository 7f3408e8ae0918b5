import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { HEAP_GROWING_PERCENT, tuneHeap } from './heap.js';

it('takes HERALD_HEAP_GROWING_PERCENT, 50 by default, 0 for V8 its own choice', () => {
  expect(tuneHeap({})).toBe(HEAP_GROWING_PERCENT);
  expect(tuneHeap({ HERALD_HEAP_GROWING_PERCENT: '' })).toBe(HEAP_GROWING_PERCENT);
  expect(tuneHeap({ HERALD_HEAP_GROWING_PERCENT: '100' })).toBe(100);
  expect(tuneHeap({ HERALD_HEAP_GROWING_PERCENT: '0' })).toBe(0);
  for (const bad of ['fifty', '-1', '1.5', '1001']) {
    expect(() => tuneHeap({ HERALD_HEAP_GROWING_PERCENT: bad })).toThrow(
      `HERALD_HEAP_GROWING_PERCENT must be a whole number from 0 to 1000 (0: V8's own choice); got "${bad}".`,
    );
  }
});

it('herald serve refuses a bad value at start, naming the variable, before opening a store', async () => {
  const bin = fileURLToPath(new URL('../bin/herald.js', import.meta.url));
  const run = await new Promise<{ code: number; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [bin, 'serve', '--port', '0', '--db', '/nonexistent-dir/never-created/herald.db'],
      { env: { ...process.env, HERALD_HEAP_GROWING_PERCENT: 'lots' }, timeout: 20_000 },
      (error, _stdout, stderr) =>
        resolve({ code: error ? Number((error as { code?: number }).code ?? -1) : 0, stderr }),
    );
  });
  expect(run.code).not.toBe(0);
  expect(run.stderr).toContain('HERALD_HEAP_GROWING_PERCENT must be a whole number');
});
