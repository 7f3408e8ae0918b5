import { newId } from '@herald/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '../src/api-keys.js';
import type { PublishInput } from '../src/store/types.js';
import { startTestHerald, type TestHerald } from './harness.js';

interface FeedEvent {
  id: string;
  type: string;
  data: { n: number };
}

/**
 * The events feed as a receiver polls it: from a cursor, page after page, forever. An event whose id
 * was made before another's but whose transaction committed after it (two API processes, or
 * PostgreSQL's concurrent writers) must still come, after the ones already read: the cursor is the
 * commit order, never the id.
 */
describe('the events feed never skips', () => {
  let h: TestHerald;
  let accountId: string;
  beforeAll(async () => {
    h = await startTestHerald();
    const key = await h.herald.store.findApiKeyByHash(hashApiKey(h.key));
    accountId = key!.accountId;
  });
  afterAll(async () => {
    await h.close();
  });

  /** An event committed straight through the store, with an id made earlier by the caller. */
  function late(id: string, n: number): PublishInput {
    const now = Date.now();
    return { accountId, id, type: 'feed.late', occurredAt: now, connectionId: null, data: { n }, createdAt: now };
  }

  async function poll(after: string, limit: number): Promise<{ events: FeedEvent[]; cursor: string }> {
    const events: FeedEvent[] = [];
    let cursor = after;
    for (;;) {
      const page = await h.request('GET', `/v1/events?after=${cursor}&limit=${limit}`);
      expect(page.status).toBe(200);
      expect(page.body.next_cursor).toEqual(expect.any(String));
      events.push(...page.body.data);
      if (page.body.data.length === 0) {
        expect(page.body.next_cursor).toBe(cursor); // an empty page keeps the poller's place
        return { events, cursor };
      }
      cursor = page.body.next_cursor;
    }
  }

  it('gives a poller from an old cursor every event once, in commit order, including ones committed out of id order', async () => {
    const publish = async (n: number) =>
      (await h.request('POST', '/v1/events', { type: 'feed.test', data: { n } })).body.id as string;
    await publish(0);
    const old = await h.request('GET', '/v1/events?limit=1');
    const oldCursor: string = old.body.next_cursor;
    await publish(1);

    // Ids made now, committed only after events whose ids are made later.
    const early = [newId('event'), newId('event')];
    const a = await publish(2);
    await h.herald.store.publish([late(early[1] as string, 3)]);
    const b = await publish(4);
    await h.herald.store.publish([late(early[0] as string, 5)]);
    // The scenario is real: id order and commit order disagree.
    expect([early[0], early[1], a, b].every((id, i, ids) => i === 0 || (ids[i - 1] as string) < (id as string))).toBe(
      true,
    );

    const { events, cursor } = await poll(oldCursor, 2);
    expect(events.map((e) => e.data.n)).toEqual([1, 2, 3, 4, 5]);
    expect(events.map((e) => e.id).slice(1)).toEqual([a, early[1], b, early[0]]);
    // Polling on from where it stopped finds what comes next, and nothing twice.
    const c = await publish(6);
    const more = await poll(cursor, 2);
    expect(more.events.map((e) => e.id)).toEqual([c]);
  });

  it('gives a poller running during concurrent publishes and late commits every event exactly once', async () => {
    const start = (await poll('0', 250)).cursor;
    const accepted: string[] = [];
    let publishing = true;
    const seen: FeedEvent[] = [];
    const poller = (async () => {
      let cursor = start;
      for (;;) {
        const stillPublishing = publishing;
        const page = await h.request('GET', `/v1/events?after=${cursor}&limit=7`);
        seen.push(...page.body.data);
        cursor = page.body.next_cursor;
        if (!stillPublishing && page.body.data.length === 0) return;
      }
    })();
    const publishers = Array.from({ length: 8 }, async (_, p) => {
      for (let i = 0; i < 25; i++) {
        if (i % 5 === 4) {
          // An id made, then a turn of other work, then the commit: out of id order with the rest.
          const id = newId('event');
          await new Promise((r) => setTimeout(r, 3));
          await h.herald.store.publish([late(id, p * 100 + i)]);
          accepted.push(id);
        } else {
          const response = await h.request('POST', '/v1/events', { type: 'feed.load', data: { n: p * 100 + i } });
          expect(response.status).toBe(202);
          accepted.push(response.body.id);
        }
      }
    });
    await Promise.all(publishers);
    publishing = false;
    await poller;

    const ids = seen.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length); // nothing twice
    expect([...ids].sort()).toEqual([...accepted].sort()); // nothing missed
    // The poller saw the same order as a reader of the whole feed afterwards.
    expect(ids).toEqual((await poll(start, 250)).events.map((e) => e.id));
  });
});
