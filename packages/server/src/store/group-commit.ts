/**
 * Group commit: writes that arrive while one transaction is being written wait, then go together
 * in the next one. Each caller's promise resolves only after the transaction that carries its item
 * has committed, so durability costs one sync per batch instead of one per request.
 */
export interface GroupCommit<I, O> {
  submit(item: I): Promise<O>;
  /** Resolves when everything submitted so far is committed (or has failed). */
  drain(): Promise<void>;
}

export function createGroupCommit<I, O>(
  write: (items: I[]) => Promise<O[]>,
  options: { maxBatch?: number } = {},
): GroupCommit<I, O> {
  const maxBatch = options.maxBatch ?? 500;
  let queue: Array<{ item: I; resolve: (o: O) => void; reject: (e: unknown) => void }> = [];
  let writing: Promise<void> | null = null;
  let scheduled = false;

  async function flush(): Promise<void> {
    while (queue.length > 0) {
      const batch = queue.slice(0, maxBatch);
      queue = queue.slice(batch.length);
      try {
        const results = await write(batch.map((b) => b.item));
        for (const [i, b] of batch.entries()) b.resolve(results[i] as O);
      } catch (error) {
        for (const b of batch) b.reject(error);
      }
    }
  }

  function start(): void {
    scheduled = false;
    if (writing) return;
    writing = flush().finally(() => {
      writing = null;
      if (queue.length > 0) start();
    });
  }

  return {
    submit(item) {
      return new Promise<O>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        // Wait one turn of the event loop so requests parsed in the same turn share a batch.
        if (!scheduled && !writing) {
          scheduled = true;
          setImmediate(start);
        }
      });
    },
    async drain() {
      while (writing || queue.length > 0 || scheduled) {
        await (writing ?? new Promise((r) => setImmediate(r)));
      }
    },
  };
}
