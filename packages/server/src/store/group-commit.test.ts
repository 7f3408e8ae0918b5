import { describe, expect, it } from 'vitest';
import { createGroupCommit } from './group-commit.js';

describe('group commit', () => {
  it('carries requests that arrive together in one write, and answers each with its own result', async () => {
    const writes: number[][] = [];
    const commit = createGroupCommit(async (items: number[]) => {
      writes.push(items);
      return items.map((n) => n * 10);
    });
    const results = await Promise.all([1, 2, 3, 4].map((n) => commit.submit(n)));
    expect(results).toEqual([10, 20, 30, 40]);
    expect(writes).toEqual([[1, 2, 3, 4]]);
  });

  it('queues what arrives during a write for the next write, never more than maxBatch at once', async () => {
    const writes: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const commit = createGroupCommit(
      async (items: number[]) => {
        writes.push(items);
        if (writes.length === 1) await gate;
        return items;
      },
      { maxBatch: 3 },
    );
    const first = commit.submit(0);
    await new Promise((r) => setImmediate(r));
    const later = [1, 2, 3, 4, 5].map((n) => commit.submit(n));
    release();
    expect(await Promise.all([first, ...later])).toEqual([0, 1, 2, 3, 4, 5]);
    expect(writes).toEqual([[0], [1, 2, 3], [4, 5]]);
  });

  it('rejects every request of a failed write and keeps serving later ones', async () => {
    let fail = true;
    const commit = createGroupCommit(async (items: string[]) => {
      if (fail) throw new Error('disk full');
      return items;
    });
    const failed = await Promise.allSettled([commit.submit('a'), commit.submit('b')]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    expect(await commit.submit('c')).toBe('c');
  });

  it('drain waits for everything submitted', async () => {
    const done: number[] = [];
    const commit = createGroupCommit(async (items: number[]) => {
      await new Promise((r) => setTimeout(r, 10));
      done.push(...items);
      return items;
    });
    void commit.submit(1);
    void commit.submit(2);
    await commit.drain();
    expect(done).toEqual([1, 2]);
  });
});
