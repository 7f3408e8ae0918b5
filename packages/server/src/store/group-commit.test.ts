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

  it('fails only the item at fault: the others of its batch are written, in order', async () => {
    const writes: number[][] = [];
    const commit = createGroupCommit(async (items: number[]) => {
      writes.push(items);
      if (items.includes(13)) throw new RangeError('Maximum call stack size exceeded');
      return items;
    });
    const items = Array.from({ length: 100 }, (_, i) => i);
    const settled = await Promise.allSettled(items.map((n) => commit.submit(n)));
    expect(settled.filter((r) => r.status === 'rejected').length).toBe(1);
    expect(settled[13]).toMatchObject({ status: 'rejected', reason: { name: 'RangeError' } });
    expect(settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))).toEqual(items.filter((n) => n !== 13));
    // The batch is halved down to the bad item: a handful of writes, not one per item.
    expect(writes.length).toBeLessThanOrEqual(1 + 2 * Math.ceil(Math.log2(100)));
  });

  it('fails a whole batch at once when the error is not about an item', async () => {
    let writes = 0;
    const commit = createGroupCommit(
      async (): Promise<string[]> => {
        writes++;
        throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      },
      { splits: (e) => (e as { code?: string }).code !== 'ECONNREFUSED' },
    );
    const settled = await Promise.allSettled(['a', 'b', 'c', 'd'].map((s) => commit.submit(s)));
    expect(settled.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
    expect(writes).toBe(1);
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
