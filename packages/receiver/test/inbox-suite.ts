import { afterEach, describe, expect, it } from 'vitest';
import { hashBody } from '../src/event.js';
import type { Inbox, NewInboxEvent } from '../src/inbox/types.js';

/**
 * The one test suite every inbox passes (run by sqlite.test.ts and postgres.test.ts).
 *
 * A fixture opens inboxes on named stores: two `create` calls with one name share one store (two
 * connections, as two processes would have); each test uses a store of its own.
 */
export interface InboxFixture {
  create(store: string): Inbox;
  /** Rewrites test SQL for the store: `{effects}` becomes a table of the store, `?` the driver's placeholder. */
  sql(store: string, text: string): string;
  /** Runs SQL on the store outside any inbox (`{effects}` and `?` rewritten). */
  query(store: string, text: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
}

const T0 = Date.parse('2026-11-27T06:00:00.000Z');
let counter = 0;

export function newEvent(overrides: Partial<NewInboxEvent> = {}): NewInboxEvent {
  counter++;
  const id = overrides.id ?? `evt_suite_${counter}_${Math.random().toString(36).slice(2)}`;
  const body =
    overrides.body ??
    JSON.stringify({
      id,
      type: overrides.type ?? 'sync.completed',
      occurred_at: overrides.occurredAt ?? new Date(T0).toISOString(),
      connection_id: 'con_1',
      endpoint_id: 'ep_1',
      sequence: overrides.sequence ?? counter,
      data: { n: counter },
    });
  return {
    id,
    type: 'sync.completed',
    orderKey: null,
    endpointId: 'ep_1',
    connectionId: 'con_1',
    sequence: counter,
    occurredAt: new Date(T0).toISOString(),
    source: 'webhook',
    receivedAt: T0,
    ...overrides,
    body,
    bodyHash: hashBody(body),
  };
}

export function inboxSuite(name: string, fixture: InboxFixture): void {
  describe(`${name} inbox (shared suite)`, () => {
    const opened: Inbox[] = [];
    let storeCounter = 0;
    let store = '';

    async function open(sameStore = false): Promise<Inbox> {
      if (!sameStore) store = `s${Date.now().toString(36)}_${storeCounter++}`;
      const inbox = fixture.create(store);
      await inbox.open();
      opened.push(inbox);
      return inbox;
    }

    afterEach(async () => {
      await Promise.all(opened.splice(0).map((i) => i.close()));
    });

    const claim = (inbox: Inbox, now = T0, limit = 100, workerId = 'w1') =>
      inbox.claim({ workerId, now, leaseMs: 30_000, limit });

    it('keeps a new id, ignores a known one, and keeps a different body under a known id aside', async () => {
      const inbox = await open();
      const first = newEvent();
      const redelivered = { ...first, receivedAt: T0 + 1000 };
      const reserialised = { ...first, body: JSON.stringify(JSON.parse(first.body), null, 2) };
      reserialised.bodyHash = hashBody(reserialised.body);
      const forged = newEvent({ id: first.id, body: JSON.stringify({ id: first.id, type: 'x', data: { evil: 1 } }) });
      expect(await inbox.insert([first])).toEqual(['inserted']);
      expect(await inbox.insert([redelivered, reserialised, forged])).toEqual(['duplicate', 'duplicate', 'conflict']);
      expect(await inbox.insert([forged])).toEqual(['conflict']);
      expect((await inbox.get(first.id))?.body).toBe(first.body);
      const conflicts = await inbox.conflicts();
      expect(conflicts.map((c) => [c.id, c.body])).toEqual([[first.id, forged.body]]);
      expect(await inbox.list()).toHaveLength(1);
    });

    it('inserts a batch in one go, with copies of one id inside it', async () => {
      const inbox = await open();
      const a = newEvent();
      const b = newEvent();
      expect(await inbox.insert([a, b, { ...a }])).toEqual(['inserted', 'inserted', 'duplicate']);
      expect((await inbox.stats()).pending).toBe(2);
    });

    it('still has what it committed after the connection is closed and opened again', async () => {
      const inbox = await open();
      const e = newEvent();
      await inbox.insert([e]);
      await inbox.close();
      opened.splice(opened.indexOf(inbox), 1);
      const again = await open(true);
      expect((await again.get(e.id))?.status).toBe('pending');
    });

    it('claims due events once: a leased event waits until its lease runs out', async () => {
      const inbox = await open();
      const due = newEvent();
      await inbox.insert([due]);
      const claimed = await claim(inbox);
      expect(claimed.map((e) => e.id)).toEqual([due.id]);
      expect(await claim(inbox, T0 + 29_000, 100, 'w2')).toEqual([]);
      const reclaimed = await claim(inbox, T0 + 30_000, 100, 'w2');
      expect(reclaimed.map((e) => e.id)).toEqual([due.id]);
    });

    it("names the workers holding claims and lets go of one worker's claims at once, leaving the rest", async () => {
      const inbox = await open();
      const [a1, a2, b1] = [newEvent(), newEvent(), newEvent()];
      await inbox.insert([a1, a2]);
      await claim(inbox, T0, 100, 'w1');
      await inbox.insert([b1]);
      await claim(inbox, T0, 100, 'w2');
      expect((await inbox.claimants()).sort()).toEqual(['w1', 'w2']);
      expect(await inbox.release('w1', [a1.id])).toBe(1);
      expect((await claim(inbox, T0 + 1, 100, 'w3')).map((e) => e.id)).toEqual([a1.id]);
      expect(await inbox.release('w1')).toBe(1);
      expect(await inbox.release('w1')).toBe(0);
      expect((await claim(inbox, T0 + 2, 100, 'w3')).map((e) => e.id)).toEqual([a2.id]);
      // w2's claim stands: released claims go to the next claim, held ones do not.
      expect((await inbox.get(b1.id))?.attempts).toBe(0);
      expect((await inbox.claimants()).sort()).toEqual(['w2', 'w3']);
    });

    it('hands out one event per key at a time, the lowest sequence first, whatever the arrival order', async () => {
      const inbox = await open();
      const [s3, s1, s2] = [3, 1, 2].map((sequence) => newEvent({ orderKey: 'con_a', sequence }));
      const other = newEvent({ orderKey: 'con_b', endpointId: 'ep_2', sequence: 1 });
      const unordered = [newEvent(), newEvent()];
      await inbox.insert([s3!, s1!, s2!, other, ...unordered]);
      const first = await claim(inbox);
      expect(first.map((e) => e.id).sort()).toEqual([s1!.id, other.id, ...unordered.map((u) => u.id)].sort());
      expect(await claim(inbox)).toEqual([]);
      const unit = inbox.begin();
      expect(await unit.commit({ id: s1!.id, workerId: 'w1', status: 'processed', now: T0 })).toBe(true);
      expect((await claim(inbox)).map((e) => e.id)).toEqual([s2!.id]);
    });

    it('holds back an earlier event of a key that arrives while a later one of that key is in flight', async () => {
      const inbox = await open();
      // Without a sequence (another sender), arrival decides what is in flight first.
      const s3 = newEvent({ orderKey: 'con_a', sequence: 0, occurredAt: '2026-11-27T06:00:03.000Z' });
      await inbox.insert([s3]);
      expect((await claim(inbox)).map((e) => e.id)).toEqual([s3.id]);
      const s1 = newEvent({ orderKey: 'con_a', sequence: 0, occurredAt: '2026-11-27T06:00:01.000Z' });
      await inbox.insert([s1]);
      expect(await claim(inbox, T0, 100, 'w2')).toEqual([]);
      await inbox.begin().commit({ id: s3.id, workerId: 'w1', status: 'processed', now: T0 });
      expect((await claim(inbox, T0, 100, 'w2')).map((e) => e.id)).toEqual([s1.id]);
    });

    it("commits a handler's writes with the event's completion, and its key's position", async () => {
      const inbox = await open();
      await fixture.query(store, 'CREATE TABLE {effects} (event_id TEXT NOT NULL)');
      const e = newEvent({ orderKey: 'con_a', endpointId: 'ep_7', sequence: 1 });
      await inbox.insert([e]);
      await claim(inbox);
      const unit = inbox.begin();
      await unit.transaction.run(fixture.sql(store, 'INSERT INTO {effects} (event_id) VALUES (?)'), [e.id]);
      const position = { key: 'con_a', endpointId: 'ep_7', sequence: 1, occurredAt: e.occurredAt, eventId: e.id };
      expect(await unit.commit({ id: e.id, workerId: 'w1', status: 'processed', now: T0 + 5, position })).toBe(true);
      expect(await fixture.query(store, 'SELECT event_id FROM {effects}')).toEqual([{ event_id: e.id }]);
      const stored = await inbox.get(e.id);
      expect([stored?.status, stored?.attempts, stored?.processedAt]).toEqual(['processed', 1, T0 + 5]);
      expect(await inbox.keyPosition('con_a')).toEqual({
        endpointId: 'ep_7',
        sequence: 1,
        occurredAt: e.occurredAt,
        eventId: e.id,
      });
    });

    it('holds an ordered event until every lower sequence of its endpoint has arrived, whatever its key', async () => {
      const inbox = await open();
      const at = (sequence: number, orderKey: string | null) => newEvent({ orderKey, endpointId: 'ep_h', sequence });
      const [a1, a3, b4, u5] = [at(1, 'a'), at(3, 'a'), at(4, 'b'), at(5, null)];
      await inbox.insert([a3!, b4!, u5!, a1!]);
      // 2 is missing: 3 and 4 wait, whatever key 2 turns out to have; the unordered 5 does not.
      expect((await claim(inbox)).map((e) => e.id).sort()).toEqual([a1!.id, u5!.id].sort());
      await inbox.begin().commit({ id: a1!.id, workerId: 'w1', status: 'processed', now: T0 });
      expect(await claim(inbox)).toEqual([]);
      expect(await inbox.streams()).toEqual([{ endpointId: 'ep_h', contiguous: 1, highest: 5 }]);
      const c2 = at(2, 'c');
      await inbox.insert([c2]);
      expect((await claim(inbox)).map((e) => e.id).sort()).toEqual([c2.id, a3!.id, b4!.id].sort());
      expect(await inbox.streams()).toEqual([{ endpointId: 'ep_h', contiguous: 5, highest: 5 }]);
    });

    it("settles a fresh stream's start: at sequence 1, at the lowest received once settled, or as told", async () => {
      const inbox = await open();
      const later = [6, 5, 7].map((sequence) => newEvent({ orderKey: 'k', endpointId: 'ep_s', sequence }));
      await inbox.insert(later);
      const lowest = { before: T0, from: 'lowest' as const };
      expect(await claim(inbox)).toEqual([]);
      expect(
        await inbox.claim({ workerId: 'w1', now: T0, leaseMs: 1000, limit: 9, settle: { ...lowest, before: T0 - 1 } }),
      ).toEqual([]);
      expect(await inbox.streams()).toEqual([{ endpointId: 'ep_s', contiguous: null, highest: 7 }]);
      const claimed = await inbox.claim({ workerId: 'w1', now: T0, leaseMs: 1000, limit: 9, settle: lowest });
      expect(claimed.map((e) => e.sequence)).toEqual([5]);
      expect(await inbox.streams()).toEqual([{ endpointId: 'ep_s', contiguous: 7, highest: 7 }]);

      const from3 = newEvent({ orderKey: 'k2', endpointId: 'ep_b', sequence: 3 });
      await inbox.insert([from3]);
      const beginning = { before: T0, from: 'beginning' as const };
      expect(await inbox.claim({ workerId: 'w1', now: T0, leaseMs: 1000, limit: 9, settle: beginning })).toEqual([]);
      expect((await inbox.streams()).find((s) => s.endpointId === 'ep_b')?.contiguous).toBe(0);

      expect(await inbox.openStream('ep_o', 10)).toBe(true);
      expect(await inbox.openStream('ep_o', 2)).toBe(false);
      const o11 = newEvent({ orderKey: 'k3', endpointId: 'ep_o', sequence: 11 });
      await inbox.insert([o11]);
      expect((await claim(inbox)).map((e) => e.id)).toEqual([o11.id]);
    });

    it('writes nothing when the claim was lost or the handler failed', async () => {
      const inbox = await open();
      await fixture.query(store, 'CREATE TABLE {effects} (event_id TEXT NOT NULL)');
      const e = newEvent();
      await inbox.insert([e]);
      await claim(inbox, T0, 100, 'w1');
      // w1's lease runs out and w2 takes the event over.
      await claim(inbox, T0 + 31_000, 100, 'w2');
      const late = inbox.begin();
      await late.transaction.run(fixture.sql(store, 'INSERT INTO {effects} (event_id) VALUES (?)'), [e.id]);
      expect(await late.commit({ id: e.id, workerId: 'w1', status: 'processed', now: T0 + 32_000 })).toBe(false);
      const failed = inbox.begin();
      await failed.transaction.run(fixture.sql(store, 'INSERT INTO {effects} (event_id) VALUES (?)'), [e.id]);
      await failed.rollback();
      expect(await fixture.query(store, 'SELECT event_id FROM {effects}')).toEqual([]);
      expect((await inbox.get(e.id))?.status).toBe('pending');
    });

    it('schedules a failed event for later, parks it as dead at the end, and replays it', async () => {
      const inbox = await open();
      const e = newEvent();
      await inbox.insert([e]);
      await claim(inbox);
      await inbox.fail({ id: e.id, workerId: 'w1', error: 'Error: boom', attempts: 1, nextAttemptAt: T0 + 1000 });
      expect(await claim(inbox, T0 + 999)).toEqual([]);
      expect((await claim(inbox, T0 + 1000)).map((x) => x.attempts)).toEqual([1]);
      await inbox.fail({ id: e.id, workerId: 'w1', error: 'Error: boom again', attempts: 2, nextAttemptAt: null });
      const dead = await inbox.list({ status: 'dead' });
      expect(dead.map((x) => [x.id, x.attempts, x.lastError])).toEqual([[e.id, 2, 'Error: boom again']]);
      expect(await claim(inbox, T0 + 10_000_000)).toEqual([]);
      expect(await inbox.replay({ status: 'dead', since: T0 + 1 }, T0)).toBe(0);
      expect(await inbox.replay({ status: 'dead', since: T0 }, T0 + 5000)).toBe(1);
      const again = await claim(inbox, T0 + 5000);
      expect(again.map((x) => [x.id, x.attempts, x.status])).toEqual([[e.id, 0, 'pending']]);
      expect((await inbox.stats()).dead).toBe(0);
    });

    it('replays chosen events by id, whatever their status but pending', async () => {
      const inbox = await open();
      const e = newEvent();
      await inbox.insert([e]);
      expect(await inbox.replay(e.id, T0)).toBe(0);
      await claim(inbox);
      await inbox.begin().commit({ id: e.id, workerId: 'w1', status: 'processed', now: T0 });
      expect(await inbox.replay([e.id], T0 + 1)).toBe(1);
      expect((await claim(inbox, T0 + 1)).map((x) => x.id)).toEqual([e.id]);
    });

    it('prunes processed and stale ids after the retention, never pending or dead ones', async () => {
      const inbox = await open();
      const [old, stale, dead, pending, recent] = [T0, T0, T0, T0, T0 + 10_000].map((receivedAt) =>
        newEvent({ receivedAt }),
      );
      await inbox.insert([old!, stale!, dead!, pending!, recent!]);
      await inbox.insert([{ ...newEvent({ id: old!.id }), receivedAt: T0 }]);
      await claim(inbox, T0 + 10_000);
      for (const [e, status] of [
        [old, 'processed'],
        [stale, 'stale'],
        [recent, 'processed'],
      ] as const) {
        await inbox.begin().commit({ id: e!.id, workerId: 'w1', status, now: T0 });
      }
      await inbox.fail({ id: dead!.id, workerId: 'w1', error: 'x', attempts: 5, nextAttemptAt: null });
      await inbox.fail({ id: pending!.id, workerId: 'w1', error: 'x', attempts: 1, nextAttemptAt: T0 });
      expect(await inbox.prune(T0 + 5000)).toBe(2);
      const left = (await inbox.list()).map((e) => e.id).sort();
      expect(left).toEqual([dead!.id, pending!.id, recent!.id].sort());
      expect(await inbox.conflicts()).toEqual([]);
      // A pruned id is new again: retention must outlast the sender's retries.
      expect(await inbox.insert([old!])).toEqual(['inserted']);
    });

    it('reports pending count, oldest pending age and dead count', async () => {
      const inbox = await open();
      expect(await inbox.stats()).toEqual({ pending: 0, oldestPendingAt: null, dead: 0 });
      await inbox.insert([newEvent({ receivedAt: T0 + 5 }), newEvent({ receivedAt: T0 + 9 })]);
      expect(await inbox.stats()).toEqual({ pending: 2, oldestPendingAt: T0 + 5, dead: 0 });
    });

    it("saves the watchdog's cursors", async () => {
      const inbox = await open();
      expect(await inbox.cursors()).toEqual({});
      await inbox.saveCursors({ 'stream:ep_1': '4', poll: 'abc' });
      await inbox.saveCursors({ 'stream:ep_1': '9' });
      const again = await open(true);
      expect(await again.cursors()).toEqual({ 'stream:ep_1': '9', poll: 'abc' });
    });

    it('two connections claiming at once never get the same event, nor two of one key', async () => {
      const a = await open();
      const b = await open(true);
      const events = Array.from({ length: 120 }, (_, i) =>
        newEvent({ orderKey: i % 3 === 0 ? null : `key_${i % 7}`, sequence: i + 1 }),
      );
      await a.insert(events);
      const seen: string[] = [];
      const inFlightKeys = new Set<string>();
      let overlap = 0;
      async function work(inbox: Inbox, workerId: string): Promise<void> {
        for (let round = 0; round < 400 && seen.length < events.length; round++) {
          const claimed = await inbox.claim({ workerId, now: T0, leaseMs: 60_000, limit: 5 });
          for (const e of claimed) {
            if (e.orderKey !== null) {
              if (inFlightKeys.has(e.orderKey)) overlap++;
              inFlightKeys.add(e.orderKey);
            }
          }
          await new Promise((r) => setTimeout(r, 1));
          for (const e of claimed) {
            seen.push(e.id);
            if (e.orderKey !== null) inFlightKeys.delete(e.orderKey);
            expect(await inbox.begin().commit({ id: e.id, workerId, status: 'processed', now: T0 })).toBe(true);
          }
        }
      }
      await Promise.all([work(a, 'wa'), work(b, 'wb')]);
      expect(overlap).toBe(0);
      expect(seen.length).toBe(events.length);
      expect(new Set(seen).size).toBe(events.length);
      expect((await a.stats()).pending).toBe(0);
    });
  });
}
