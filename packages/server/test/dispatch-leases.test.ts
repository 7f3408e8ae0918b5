import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { type DispatchFixture, dispatchFixture } from './dispatch-fixture.js';
import { startTestReceiver, type TestReceiver } from './harness.js';

describe("a dispatcher and other claimants' endpoint leases", () => {
  let fx: DispatchFixture;
  let receiver: TestReceiver;
  afterEach(async () => {
    await fx?.close();
    await receiver?.close();
  });

  /** Writes a lease as a claimant would have, valid for the next minute. */
  function leasedTo(endpointId: string, owner: string): void {
    fx.store.database
      .prepare('INSERT INTO endpoint_leases (endpoint_id, owner, lease_until) VALUES (?, ?, ?)')
      .run(endpointId, owner, fx.clock.now() + 60_000);
  }

  it('lets go at once of the leases of a dispatcher on this host whose process has ended, and keeps a live one’s', async () => {
    fx = await dispatchFixture();
    receiver = await startTestReceiver();
    const orphaned = await fx.endpoint(`${receiver.url}/orphaned`);
    const held = await fx.endpoint(`${receiver.url}/held`);
    // A process that has ended (killed with -9, say): its pid is free now.
    const gone = spawnSync(process.execPath, ['-e', '0']).pid as number;
    leasedTo(orphaned.id, `${hostname()}:${gone}:4b1c0f1e-dead-4d0c-9c6e-000000000001`);
    // A dispatcher that is alive: this very process, under another claimant id.
    leasedTo(held.id, `${hostname()}:${process.pid}:4b1c0f1e-live-4d0c-9c6e-000000000002`);
    await fx.publish(3);

    // Nothing of the held endpoint is sent before its lease ends; the orphaned one's go now.
    expect(await fx.dispatcher.runOnce()).toBe(3);
    expect(receiver.requests.map((r) => r.url)).toEqual([
      '/webhooks/orphaned',
      '/webhooks/orphaned',
      '/webhooks/orphaned',
    ]);
    fx.clock.advance(60_001);
    expect(await fx.dispatcher.runOnce()).toBe(3);
    expect(receiver.requests.filter((r) => r.url === '/webhooks/held')).toHaveLength(3);
  });
});
