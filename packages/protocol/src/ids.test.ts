import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { firstIdAt, ID_PREFIXES, type IdKind, idTime, isId, newId } from './ids.js';

const KINDS = Object.keys(ID_PREFIXES) as IdKind[];

describe('ids', () => {
  it('name each kind of thing with its own prefix', () => {
    expect(ID_PREFIXES).toEqual({
      event: 'evt',
      endpoint: 'ep',
      delivery: 'dlv',
      attempt: 'att',
      request: 'req',
      apiKey: 'key',
      account: 'acct',
      job: 'job',
      connection: 'con',
      portalSession: 'ps',
      alert: 'alrt',
    });
  });

  it.each(KINDS)('a new %s id is its prefix, an underscore and 26 Crockford base32 characters', (kind) => {
    const id = newId(kind);
    expect(id).toMatch(new RegExp(`^${ID_PREFIXES[kind]}_[0-9A-HJKMNP-TV-Z]{26}$`));
    expect(isId(kind, id)).toBe(true);
  });

  it('isId tells an id of one kind from an id of another', () => {
    const event = newId('event');
    expect(isId('event', event)).toBe(true);
    expect(isId('endpoint', event)).toBe(false);
    expect(isId('delivery', newId('endpoint'))).toBe(false);
  });

  it('isId refuses ids that are too short, too long, lower case or use letters Crockford leaves out', () => {
    const body = newId('event').slice('evt_'.length);
    for (const bad of [
      `evt_${body.slice(1)}`,
      `evt_${body}0`,
      `evt_${body.toLowerCase()}`,
      `evt_I${body.slice(1)}`,
      `evt_U${body.slice(1)}`,
      `evt${body}`,
      `EVT_${body}`,
      ` evt_${body}`,
      '',
    ]) {
      expect(isId('event', bad), bad).toBe(false);
    }
  });

  it('10,000 ids made in a tight loop, many within one millisecond, sort as strings in the order they were made', () => {
    const ids = Array.from({ length: 10_000 }, () => newId('event'));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    // The loop is fast enough that some ids shared a millisecond: the order held inside it too.
    expect(new Set(ids.map(idTime)).size).toBeLessThan(ids.length);
  });

  it('ids of different kinds made in turn keep their order within each kind', () => {
    const deliveries: string[] = [];
    const attempts: string[] = [];
    for (let i = 0; i < 1_000; i++) {
      deliveries.push(newId('delivery'));
      attempts.push(newId('attempt'));
    }
    expect([...deliveries].sort()).toEqual(deliveries);
    expect([...attempts].sort()).toEqual(attempts);
  });

  it('idTime reads back the millisecond an id was made at', () => {
    const before = Date.now();
    const id = newId('event');
    expect(idTime(id)).toBeGreaterThanOrEqual(before);
    expect(idTime(id)).toBeLessThanOrEqual(Date.now());
  });

  // The tests below move time forward on the module's clock, so they run last.
  it('idTime round-trips a time given to newId', () => {
    // Each time is later than any before it (see the next test for a clock that steps back).
    let t = Date.now() + 1_000;
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 10 ** 9 }), { minLength: 1, maxLength: 20 }), (steps) => {
        for (const step of steps) {
          t += step;
          const id = newId('delivery', t);
          expect(idTime(id)).toBe(t);
          expect(isId('delivery', id)).toBe(true);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('a clock that steps back does not break the order: the id keeps the latest time seen', () => {
    const later = Date.now() + 10 ** 12;
    const first = newId('event', later);
    const second = newId('event', later - 5_000);
    expect(second > first).toBe(true);
    expect(idTime(second)).toBe(later);
  });

  it('two ids given the same time still differ and sort in the order they were made', () => {
    const t = Date.now() + 2 * 10 ** 12;
    const first = newId('job', t);
    const second = newId('job', t);
    expect(idTime(first)).toBe(t);
    expect(idTime(second)).toBe(t);
    expect(second > first).toBe(true);
  });

  it('encodes the largest 48-bit time', () => {
    const max = 2 ** 48 - 1;
    const id = newId('event', max);
    expect(id.slice(4, 14)).toBe('7ZZZZZZZZZ');
    expect(idTime(id)).toBe(max);
  });

  it('firstIdAt(t) is at or below every id made at t and above every id made before it', () => {
    // The largest id made at `ms`: its time part, then the largest random part.
    const lastIdAt = (ms: number) => `${firstIdAt('event', ms).slice(0, 14)}${'Z'.repeat(16)}`;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 48 - 2 }), (ms) => {
        const bound = firstIdAt('event', ms);
        expect(isId('event', bound)).toBe(true);
        expect(idTime(bound)).toBe(ms);
        expect(bound <= lastIdAt(ms)).toBe(true);
        expect(bound > lastIdAt(ms - 1)).toBe(true);
        expect(lastIdAt(ms) < firstIdAt('event', ms + 1)).toBe(true);
      }),
    );
    // And an id newId made: between its own millisecond's bound and the next one's.
    const id = newId('event');
    expect(firstIdAt('event', idTime(id)) <= id && id < firstIdAt('event', idTime(id) + 1)).toBe(true);
  });
});
