/**
 * Group commit, the one implementation for Herald's publishes (the sender's store) and the
 * receiver's inbox inserts: items that arrive in one turn of the event loop are written by one
 * transaction, and each caller's promise settles only when the transaction that carries its item
 * has committed, so durability costs one sync per batch instead of one per request. One commit per
 * request reached about 8 % of a bare receiver's requests/s on the reference machine; batching
 * brings the durable route near the cost of verification alone (see bench/receiver.js).
 *
 * One bad item cannot fail the others: a write that throws is rolled back whole, so a failed batch
 * is split in halves and each half written again, down to the item at fault, which alone gets the
 * error. One bad item among 500 costs about 2 × log2(500) ≈ 18 extra writes. An error that is not
 * about an item (the store is unreachable: `splits` says no) fails the whole batch at once, so an
 * outage costs one write per batch, not 2n.
 *
 * It lives here, in the package both sides depend on, because it is plain TypeScript with no store
 * or driver in it: the store-specific parts (what to write, which errors mean "unreachable") are
 * the caller's `write` and `splits`.
 */
export interface GroupCommit<I, O> {
  /** One item; resolves with its result once its batch has committed. */
  submit(item: I): Promise<O>;
  /** Several items, in the same batch when they fit; each settles on its own. */
  many(items: readonly I[]): Promise<O[]>;
  /** Resolves when everything submitted so far is committed (or has failed). */
  drain(): Promise<void>;
}

export interface GroupCommitOptions {
  /**
   * The most items in one write. A full batch is written at once instead of at the end of the I/O
   * phase: under a burst, the first requests are answered after `maxBatch` of them are read rather
   * than after all of them (receiver, 200 at once with 64: p95 ~30 ms → ~8 ms on the reference
   * machine, and 64 per fsync keeps the throughput).
   * @default 500
   */
  maxBatch?: number;
  /**
   * Batches written at once: 1 where the store takes one writer at a time (SQLite; Herald's publish,
   * which takes the feed counter's row lock first); on a PostgreSQL inbox one per connection of the
   * route's pool, so that a burst is not written one round trip after another.
   * @default 1
   */
  writers?: number;
  /** Whether a batch that failed with this error is split to find the item at fault. @default always */
  splits?: (error: unknown) => boolean;
}

export function createGroupCommit<I, O>(
  write: (items: I[]) => Promise<O[]>,
  options: GroupCommitOptions = {},
): GroupCommit<I, O> {
  const maxBatch = options.maxBatch ?? 500;
  const writers = options.writers ?? 1;
  const splits = options.splits ?? (() => true);
  type Entry = { item: I; resolve: (o: O) => void; reject: (e: unknown) => void };
  let queue: Entry[] = [];
  let scheduled = false;
  let writing = 0;

  async function flush(): Promise<void> {
    scheduled = false;
    if (writing >= writers || queue.length === 0) return;
    writing++;
    const batch = queue.length <= maxBatch ? queue : queue.slice(0, maxBatch);
    queue = queue.length <= maxBatch ? [] : queue.slice(maxBatch);
    try {
      await writeOrSplit(batch);
    } finally {
      writing--;
      // Items that came while this batch was being written form the next one.
      if (queue.length > 0) schedule();
    }
  }

  async function writeOrSplit(batch: Entry[]): Promise<void> {
    let results: O[];
    try {
      results = await write(batch.map((b) => b.item));
    } catch (error) {
      if (batch.length === 1 || !splits(error)) {
        for (const b of batch) b.reject(error);
        return;
      }
      const half = Math.ceil(batch.length / 2);
      await writeOrSplit(batch.slice(0, half));
      await writeOrSplit(batch.slice(half));
      return;
    }
    for (const [i, b] of batch.entries()) b.resolve(results[i] as O);
  }

  function schedule(): void {
    if (scheduled) return;
    scheduled = true;
    // After the current I/O phase, so every request read in it joins the batch.
    setImmediate(() => void flush());
  }

  function submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      queue.push({ item, resolve, reject });
      if (writing >= writers) return;
      if (queue.length >= maxBatch) queueMicrotask(() => void flush());
      else schedule();
    });
  }

  return {
    submit,
    many: (items) => Promise.all(items.map(submit)),
    async drain() {
      while (writing > 0 || queue.length > 0 || scheduled) await new Promise((r) => setTimeout(r, 1));
    },
  };
}
