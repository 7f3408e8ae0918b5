import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { checkAlerts } from '../src/alerts/alert-check.js';
import { eventDataIssues } from '../src/event-types.js';
import { type DispatchFixture, dispatchFixture } from './dispatch-fixture.js';
import { startTestReceiver, type TestReceiver } from './harness.js';

const MINUTE = 60_000;

describe('alerts', () => {
  let fx: DispatchFixture | undefined;
  let receiver: TestReceiver | undefined;
  afterEach(async () => {
    await fx?.close();
    await receiver?.close();
    fx = receiver = undefined;
  });

  async function alertEvents() {
    const page = await fx!.store.listEvents(fx!.accountId, { type: 'alert.triggered', limit: 100 });
    return page.data.map((e) => e.data as Record<string, unknown>);
  }

  it('an endpoint failing most attempts fires endpoint_failure_rate once, and resolves once when it recovers', async () => {
    // Every attempt of the batch is made: without the circuit, which would hold the endpoint back after 5.
    fx = await dispatchFixture({ circuitFailures: 0 });
    receiver = await startTestReceiver(() => ({ status: 500 }));
    const ep = await fx.endpoint(receiver.url, { eventTypes: ['invoice.paid'] });
    const logs: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => logs.push(line) });
    const deps = { store: fx.store, config: fx.config, logger };

    // 9 failed attempts: under the minimum of 10, no alert.
    await fx.publish(9, 'invoice.paid');
    expect(await fx.dispatcher.runOnce()).toBe(9);
    expect(await checkAlerts(deps)).toEqual({ fired: [], resolved: [] });
    await fx.publish(1, 'invoice.paid');
    await fx.dispatcher.runOnce();

    const key = `endpoint_failure_rate:${ep.id}`;
    expect(await checkAlerts(deps)).toEqual({ fired: [key], resolved: [] });
    // Checked again, or by a process that just restarted: it is open already, nothing more is published.
    expect(await checkAlerts(deps)).toEqual({ fired: [], resolved: [] });
    expect(await fx.store.listOpenAlerts()).toHaveLength(1);
    let events = await alertEvents();
    expect(events).toEqual([
      expect.objectContaining({
        alert: 'endpoint_failure_rate',
        endpoint_id: ep.id,
        value: 1,
        threshold: 0.5,
        resolved: false,
        attempts: 10,
        failures: 10,
      }),
    ]);
    expect(eventDataIssues('alert.triggered', events[0])).toEqual([]);
    expect(logs.some((l) => JSON.parse(l).level === 40 && JSON.parse(l).alert === 'endpoint_failure_rate')).toBe(true);

    // The receiver recovers; the retries 30 s later succeed, and 15 minutes on only they count.
    receiver.respondWith(() => ({ status: 200 }));
    fx.clock.advance(MINUTE);
    expect(await fx.dispatcher.runOnce()).toBe(10);
    fx.clock.advance(15 * MINUTE - 30_000);
    expect(await checkAlerts(deps)).toEqual({ fired: [], resolved: [key] });
    expect(await checkAlerts(deps)).toEqual({ fired: [], resolved: [] });
    events = await alertEvents();
    expect(events).toHaveLength(2);
    expect(events[1]).toMatchObject({ alert: 'endpoint_failure_rate', endpoint_id: ep.id, resolved: true });
    expect(eventDataIssues('alert.triggered', events[1])).toEqual([]);
    expect(await fx.store.listOpenAlerts()).toEqual([]);
  });

  it('a delivery due for longer than --alert-due-age fires delivery_backlog, resolved once it is delivered', async () => {
    fx = await dispatchFixture({ alertDueAgeMs: 5 * MINUTE });
    receiver = await startTestReceiver();
    await fx.endpoint(receiver.url, { eventTypes: ['invoice.paid'] });
    await fx.publish(1, 'invoice.paid');
    const deps = { store: fx.store, config: fx.config, logger: pino({ level: 'silent' }) };

    fx.clock.advance(5 * MINUTE - 1);
    expect(await checkAlerts(deps)).toEqual({ fired: [], resolved: [] });
    fx.clock.advance(1);
    expect(await checkAlerts(deps)).toEqual({ fired: ['delivery_backlog'], resolved: [] });
    expect((await alertEvents())[0]).toMatchObject({
      alert: 'delivery_backlog',
      value: 300,
      threshold: 300,
      resolved: false,
    });

    await fx.dispatcher.runOnce();
    expect(await checkAlerts(deps)).toEqual({ fired: [], resolved: ['delivery_backlog'] });
    const events = await alertEvents();
    expect(events.map((e) => [e.alert, e.resolved])).toEqual([
      ['delivery_backlog', false],
      ['delivery_backlog', true],
    ]);
    for (const data of events) expect(eventDataIssues('alert.triggered', data)).toEqual([]);
  });
});
