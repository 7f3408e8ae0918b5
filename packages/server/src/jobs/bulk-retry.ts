import { createGroupCommit, newId } from '@herald/protocol';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Dispatcher } from '../dispatch/dispatcher.js';
import type { JobItemOutcome, JobItemResult, JobRecord, OpenJobItem, Store } from '../store/types.js';

/**
 * The bulk retry runner: works the `running` jobs of POST /v1/deliveries/retry, one job at a time
 * per process, each item as one immediate manual attempt through the dispatcher
 * (`dispatcher.attemptNow`: logged like any attempt, it never restarts the automatic schedule).
 *
 * Durability. The job and its items are written in one transaction when it is created; the runner
 * holds a job under a lease (`--claim-lease`, like claimed deliveries) that it renews while it
 * works, so a process killed with -9 loses the job only until the lease ends, and the next runner
 * (the restarted process, or another worker) picks it up at its next poll.
 *
 * Counting each delivery once. An item's outcome is written only where it had none, so a delivery
 * is counted once whatever runs twice. The attempt and the outcome are two transactions (the
 * attempt is recorded by the dispatcher's attempt log), so a crash between them leaves an item
 * attempted but open. Items are marked when a runner takes them; a runner that takes an item
 * someone took before looks for a manual attempt made since then and counts that one instead of
 * attempting again. What remains is the at-least-once edge every delivery has: a process killed
 * after the receiver answered and before the attempt was recorded sends that delivery once more
 * (the receiver deduplicates on webhook-id), and the item is still counted once.
 */
export interface JobRunner {
  /** Works running jobs now and at every poll. */
  start(): void;
  /** Stops taking items, lets attempts in flight finish and records them, and lets go of the job. */
  stop(): Promise<void>;
  /** A job was just created: look for work now. */
  wake(): void;
}

/** Manual attempts in flight at once for one job. */
export const BULK_RETRY_CONCURRENCY = 10;
/** Items taken from the store at once. */
const PAGE = 100;
/** How often a process looks for running jobs (new ones, or ones whose runner died). */
const POLL_MS = 1_000;

export function createJobRunner(deps: {
  config: Config;
  store: Store;
  logger: Logger;
  dispatcher: Pick<Dispatcher, 'attemptNow'>;
}): JobRunner {
  const { config, store, logger, dispatcher } = deps;
  const owner = newId('job', config.clock.now()).replace(/^job_/, 'runner_');
  const leaseMs = config.claimLeaseMs;
  // Outcomes of items finishing together share one transaction.
  const outcomes = createGroupCommit(async (results: JobItemResult[]) => {
    await store.recordJobItemOutcomes(results, config.clock.now());
    return results.map(() => undefined);
  });

  let started = false;
  let stopping = false;
  let working: Promise<void> | undefined;
  let again = false;
  let poll: NodeJS.Timeout | undefined;

  /** What became of an item another runner took before: a manual attempt it made, or nothing. */
  async function earlierOutcome(item: OpenJobItem): Promise<JobItemOutcome | undefined> {
    if (item.startedAt === null) return undefined;
    const attempts = await store.listAttempts(item.deliveryId);
    const since = attempts.filter((a) => a.manual && a.startedAt >= (item.startedAt as number));
    if (since.length === 0) return undefined;
    return since.some((a) => a.error === null) ? 'succeeded' : 'failed';
  }

  async function runItem(job: JobRecord, item: OpenJobItem): Promise<void> {
    let outcome: JobItemOutcome;
    if (item.endpointDeleted)
      outcome = 'failed'; // nowhere to send it
    else if (item.deliveryStatus === 'succeeded')
      outcome = 'succeeded'; // someone got it through meanwhile
    else {
      const earlier = await earlierOutcome(item);
      if (earlier) outcome = earlier;
      else {
        const after = await dispatcher.attemptNow(job.accountId, item.deliveryId);
        outcome = after?.status === 'succeeded' ? 'succeeded' : 'failed';
      }
    }
    await outcomes.submit({ jobId: job.id, deliveryId: item.deliveryId, outcome });
  }

  /** Works one leased job until its items run out, the lease is lost, or the runner stops. */
  async function runJob(job: JobRecord): Promise<void> {
    let lost = false;
    const renew = setInterval(() => {
      store.renewJobLease(job.id, owner, config.clock.now() + leaseMs).then(
        (held) => {
          if (!held) lost = true;
        },
        (error: unknown) => logger.warn({ err: error, job_id: job.id }, 'renewing a job lease failed'),
      );
    }, leaseMs / 3);
    renew.unref();

    let cursor = '';
    let page: OpenJobItem[] = [];
    let exhausted = false;
    let fetching: Promise<void> | undefined;
    const refill = () => {
      fetching ??= store
        .takeOpenJobItems(job.id, cursor, PAGE, config.clock.now())
        .then((items) => {
          page.push(...items);
          const last = items[items.length - 1];
          if (last) cursor = last.deliveryId;
          if (items.length < PAGE) exhausted = true;
        })
        .finally(() => {
          fetching = undefined;
        });
      return fetching;
    };
    async function next(): Promise<OpenJobItem | undefined> {
      while (page.length === 0 && !exhausted && !stopping && !lost) await refill();
      return stopping || lost ? undefined : page.shift();
    }
    async function lane(): Promise<void> {
      for (let item = await next(); item; item = await next()) {
        try {
          await runItem(job, item);
        } catch (error) {
          // The item stays open: the next run of this job (after the lease) takes it again.
          logger.error({ err: error, job_id: job.id, delivery_id: item.deliveryId }, 'bulk retry item failed');
        }
      }
    }
    try {
      await Promise.all(Array.from({ length: BULK_RETRY_CONCURRENCY }, lane));
      await outcomes.drain();
    } finally {
      clearInterval(renew);
      page = [];
      if (!lost) await store.releaseJobLease(job.id, owner);
    }
    const after = await store.getJob(job.accountId, job.id);
    logger.info(
      { job_id: job.id, state: after?.state, total: after?.total, succeeded: after?.succeeded, failed: after?.failed },
      'bulk retry job run ended',
    );
  }

  async function work(): Promise<void> {
    do {
      again = false;
      // A job whose run left items open (their store write failed) waits for the next poll.
      const ranThisRound = new Set<string>();
      for (;;) {
        if (stopping) return;
        const job = await store.claimRunningJob({ now: config.clock.now(), leaseMs, owner });
        if (!job) break;
        if (ranThisRound.has(job.id)) {
          await store.releaseJobLease(job.id, owner);
          break;
        }
        ranThisRound.add(job.id);
        await runJob(job);
      }
    } while (again && !stopping);
  }

  function kick(): void {
    if (!started || stopping) return;
    if (working) {
      again = true;
      return;
    }
    working = work()
      .catch((error: unknown) =>
        logger.error({ err: error }, 'running bulk jobs failed; trying again at the next poll'),
      )
      .finally(() => {
        working = undefined;
      });
  }

  return {
    start() {
      if (started) return;
      started = true;
      poll = setInterval(kick, POLL_MS);
      poll.unref();
      kick();
    },
    async stop() {
      stopping = true;
      if (poll) clearInterval(poll);
      await working;
      await outcomes.drain();
    },
    wake: kick,
  };
}
