import { hostname } from 'node:os';
import { manualClock } from '@herald/protocol';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { ClaimedDelivery } from '../store/types.js';
import {
  CLAIM_BATCH,
  type ClaimStore,
  type ClaimTarget,
  createClaimLoop,
  MAX_HELD,
  POLL_MS,
  type PollTimer,
  RECLAIM_ROOM,
} from './claim-loop.js';

interface Claim {
  limit: number;
  excludeEndpointIds: readonly string[];
  releaseEndpointIds: readonly string[];
}

/**
 * The store's claim calls, in memory: due deliveries by endpoint, handed out oldest first. A claim
 * may be held open (`hold()`) to see what the loop does while one runs.
 */
function fakeStore(owners: string[] = []) {
  const due: Array<{ id: string; endpointId: string }> = [];
  const claims: Claim[] = [];
  const released: string[] = [];
  const releasedOwners: string[] = [];
  let gate: Promise<void> | undefined;
  let n = 0;
  const store: ClaimStore = {
    async claimDueDeliveries(claim) {
      const exclude = claim.excludeEndpointIds ?? [];
      claims.push({
        limit: claim.limit,
        excludeEndpointIds: exclude,
        releaseEndpointIds: claim.claimant?.releaseEndpointIds ?? [],
      });
      await gate;
      const taken = due.filter((d) => !exclude.includes(d.endpointId)).slice(0, claim.limit);
      for (const d of taken) due.splice(due.indexOf(d), 1);
      // The loop reads only the delivery's identity, its claim and its endpoint's id.
      return taken.map(
        (d) => ({ delivery: { id: d.id }, claim: `claim_${d.id}`, endpoint: { id: d.endpointId } }) as ClaimedDelivery,
      );
    },
    async releaseClaims(items) {
      released.push(...items.map((i) => i.deliveryId));
    },
    async endpointLeaseOwners() {
      return owners;
    },
    async releaseEndpointLeases(owner) {
      releasedOwners.push(owner);
    },
  };
  return {
    store,
    claims,
    released,
    releasedOwners,
    publish(endpointId: string, count: number) {
      for (let i = 0; i < count; i++) due.push({ id: `dlv_${++n}`, endpointId });
    },
    hold() {
      let open: () => void = () => {};
      gate = new Promise((resolve) => {
        open = resolve;
      });
      return () => {
        gate = undefined;
        open();
      };
    },
  };
}

/** The endpoints' queues as counts: what the loop handed over, per endpoint. */
function fakeTarget() {
  const holding = new Map<string, number>();
  const long = new Set<string>();
  const tripping = new Set<string>();
  const target: ClaimTarget = {
    endpoints: () => holding.keys(),
    isLong: (id) => holding.has(id) && long.has(id),
    tripping: () => tripping,
    queue(claimed) {
      for (const c of claimed) holding.set(c.endpoint.id, (holding.get(c.endpoint.id) ?? 0) + 1);
      return claimed.map(() => new Promise<boolean>(() => {}));
    },
  };
  return { target, holding, long, tripping };
}

/** A poll timer the test runs by hand. */
function handPoll() {
  const runs: Array<{ run: () => void; ms: number }> = [];
  const poll: PollTimer = {
    repeat(run, ms) {
      const timer = { run, ms };
      runs.push(timer);
      return timer;
    },
    cancel(handle) {
      runs.splice(runs.indexOf(handle as (typeof runs)[number]), 1);
    },
  };
  return { poll, runs };
}

/** Lets the loop's claims (promises on the fake store) run to their end. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

function setup(owners?: string[]) {
  const fake = fakeStore(owners);
  const t = fakeTarget();
  const { poll, runs } = handPoll();
  const loop = createClaimLoop({
    store: fake.store,
    clock: manualClock(),
    leaseMs: 60_000,
    logger: pino({ level: 'silent' }),
    target: t.target,
    poll,
  });
  /** An automatic attempt of the endpoint ended, as the dispatcher reports it. */
  const ended = (endpointId: string) => {
    const left = (t.holding.get(endpointId) ?? 0) - 1;
    if (left > 0) t.holding.set(endpointId, left);
    else t.holding.delete(endpointId);
    loop.attemptEnded(endpointId);
  };
  return { ...fake, ...t, loop, runs, ended };
}

describe('the claim loop', () => {
  it('fills an empty process in full claims up to MAX_HELD, then claims again only once RECLAIM_ROOM is free', async () => {
    const s = setup();
    s.publish('ep_a', 3_000);
    s.loop.start();
    await settle();
    expect(s.claims.map((c) => c.limit)).toEqual([CLAIM_BATCH, CLAIM_BATCH, CLAIM_BATCH, CLAIM_BATCH]);
    expect(s.loop.held).toBe(MAX_HELD);

    for (let i = 0; i < RECLAIM_ROOM - 1; i++) s.ended('ep_a');
    await settle();
    expect(s.claims).toHaveLength(4);
    s.ended('ep_a');
    await settle();
    // The room that is free, and no more: the process is full again.
    expect(s.claims.map((c) => c.limit).slice(4)).toEqual([RECLAIM_ROOM]);
    expect(s.loop.held).toBe(MAX_HELD);
  });

  it('after a short claim, waits for a wake or the poll; before start(), a wake claims nothing', async () => {
    const s = setup();
    s.publish('ep_a', 10);
    s.loop.wake();
    await settle();
    expect(s.claims).toHaveLength(0);

    s.loop.start();
    await settle();
    expect(s.claims).toHaveLength(1);
    expect(s.loop.held).toBe(10);
    // Attempts ending do not claim: the last claim was not full and left nothing out.
    s.ended('ep_a');
    await settle();
    expect(s.claims).toHaveLength(1);

    expect(s.runs.map((r) => r.ms)).toEqual([POLL_MS]);
    s.runs[0]?.run();
    await settle();
    expect(s.claims).toHaveLength(2);
    s.loop.wake();
    await settle();
    expect(s.claims).toHaveLength(3);

    s.loop.stop();
    expect(s.runs).toHaveLength(0);
    s.loop.wake();
    await settle();
    expect(s.claims).toHaveLength(3);
  });

  it('claims once more after a claim that ran while others were asked for, not once per ask', async () => {
    const s = setup();
    s.publish('ep_a', 1);
    const open = s.hold();
    s.loop.start();
    await settle();
    expect(s.claims).toHaveLength(1);
    s.publish('ep_a', 1);
    s.loop.wake();
    s.loop.wake();
    s.runs[0]?.run();
    await settle();
    expect(s.claims).toHaveLength(1);
    open();
    await settle();
    expect(s.claims).toHaveLength(2);
    expect(s.loop.held).toBe(2);
  });

  it('leaves out long queues and circuits being opened; an attempt of a left-out endpoint that is short again claims', async () => {
    const s = setup();
    s.publish('ep_long', 3);
    s.publish('ep_short', 3);
    s.loop.start();
    await settle();
    expect(s.claims[0]?.excludeEndpointIds).toEqual([]);

    s.long.add('ep_long');
    s.tripping.add('ep_tripping');
    s.loop.wake();
    await settle();
    expect(s.claims[1]?.excludeEndpointIds).toEqual(['ep_long', 'ep_tripping']);

    // An attempt of an endpoint that was not left out does not claim; one of a left-out endpoint
    // claims only once its queue is no longer long.
    s.ended('ep_short');
    s.ended('ep_long');
    await settle();
    expect(s.claims).toHaveLength(2);
    s.long.delete('ep_long');
    s.ended('ep_long');
    await settle();
    expect(s.claims).toHaveLength(3);
    expect(s.claims[2]?.excludeEndpointIds).toEqual(['ep_tripping']);
  });

  it('a wake naming only endpoints a claim would leave out claims nothing, and their attempts claim once short again', async () => {
    const s = setup();
    s.publish('ep_long', 3);
    s.loop.start();
    await settle();
    expect(s.claims).toHaveLength(1);

    // A publish for a long queue or a circuit being opened: the claim would leave both out.
    s.long.add('ep_long');
    s.tripping.add('ep_tripping');
    s.publish('ep_long', 1);
    s.loop.wake(['ep_long', 'ep_tripping']);
    s.loop.wake(['ep_long']);
    await settle();
    expect(s.claims).toHaveLength(1);

    // Its queue is short again: the attempt's end claims what was published meanwhile.
    s.long.delete('ep_long');
    s.ended('ep_long');
    await settle();
    expect(s.claims).toHaveLength(2);
    expect(s.loop.held).toBe(3);

    // One endpoint a claim may take from is enough; a wake that names none (another process's
    // publish, a circuit closing) always claims.
    s.long.add('ep_long');
    s.loop.wake(['ep_long', 'ep_other']);
    await settle();
    expect(s.claims).toHaveLength(3);
    s.loop.wake();
    await settle();
    expect(s.claims).toHaveLength(4);
  });

  it("lets go of an endpoint's lease in the first claim after the process holds none of its deliveries", async () => {
    const s = setup();
    s.publish('ep_a', 1);
    s.publish('ep_b', 1);
    s.loop.start();
    await settle();
    s.ended('ep_a');
    s.loop.wake();
    await settle();
    s.loop.wake();
    await settle();
    expect(s.claims.map((c) => c.releaseEndpointIds)).toEqual([[], ['ep_a'], []]);
  });

  it('gives back what a claim returns once stop() has begun, and queues none of it', async () => {
    const s = setup();
    s.publish('ep_a', 3);
    const open = s.hold();
    s.loop.start();
    await settle();
    s.loop.stop();
    open();
    await settle();
    expect(s.released).toHaveLength(3);
    expect(s.holding.size).toBe(0);
    expect(s.loop.held).toBe(0);
  });

  it("before its first claim, lets go of the leases of this host's dead dispatchers, once", async () => {
    // A pid above Linux's largest: no such process.
    const dead = `${hostname()}:${2 ** 30}:x`;
    const elsewhere = `another-host:${2 ** 30}:x`;
    const s = setup([dead, elsewhere]);
    s.loop.start();
    await settle();
    s.loop.wake();
    await settle();
    expect(s.claims).toHaveLength(2);
    expect(s.releasedOwners).toEqual([dead]);
  });
});
