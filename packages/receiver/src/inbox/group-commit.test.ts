import { describe, expect, it } from 'vitest';
import { groupCommit } from './group-commit.js';

/** A write that holds each batch until the test lets it go, and notes how many run at once. */
function heldWrites() {
  const pending: (() => void)[] = [];
  let running = 0;
  let most = 0;
  const write = async (items: number[]) => {
    running++;
    most = Math.max(most, running);
    await new Promise<void>((resolve) => pending.push(resolve));
    running--;
    return items.map((i) => i * 10);
  };
  return { write, pending, most: () => most };
}

describe('group commit', () => {
  it('writes one batch at a time by default, and answers each item with its own result', async () => {
    const w = heldWrites();
    const add = groupCommit(w.write, { maxBatch: 2 });
    let done = false;
    const results = add.many([1, 2, 3, 4, 5]).finally(() => (done = true));
    while (!done) {
      await new Promise((r) => setTimeout(r, 2));
      w.pending.shift()?.();
    }
    expect(await results).toEqual([10, 20, 30, 40, 50]);
    expect(w.most()).toBe(1);
  });

  it('with writers: 2, writes two batches at once (one per connection of the route pool)', async () => {
    const w = heldWrites();
    const add = groupCommit(w.write, { maxBatch: 2, writers: 2 });
    let done = false;
    const results = add.many([1, 2, 3, 4, 5, 6]).finally(() => (done = true));
    await new Promise((r) => setTimeout(r, 5));
    expect(w.pending).toHaveLength(2);
    while (!done) {
      w.pending.shift()?.();
      await new Promise((r) => setTimeout(r, 2));
    }
    expect(await results).toEqual([10, 20, 30, 40, 50, 60]);
    expect(w.most()).toBe(2);
  });
});
