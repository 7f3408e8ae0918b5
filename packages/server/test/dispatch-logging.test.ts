import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createDispatcher } from '../src/dispatch/dispatcher.js';
import { type DispatchFixture, dispatchFixture, SECRET } from './dispatch-fixture.js';
import { startTestReceiver, type TestReceiver } from './harness.js';

describe('the attempt log lines', () => {
  let fx: DispatchFixture;
  let receiver: TestReceiver;
  afterEach(async () => {
    await fx?.close();
    await receiver?.close();
  });

  it('one JSON line per attempt, with ids, status, error and duration, and no secret or payload', async () => {
    fx = await dispatchFixture();
    let n = 0;
    receiver = await startTestReceiver(() => ({ status: n++ === 0 ? 503 : 200, body: 'RESPONSE-BODY-TEXT' }));
    const endpoint = await fx.endpoint(receiver.url, { headers: { authorization: 'Bearer RECEIVER-TOKEN' } });
    const lines: string[] = [];
    const logger = pino(
      { level: 'info', base: undefined },
      new Writable({
        write(chunk, _encoding, done) {
          lines.push(...String(chunk).trim().split('\n'));
          done();
        },
      }),
    );
    const dispatcher = createDispatcher({ config: fx.config, store: fx.store, logger });
    const [id] = (await fx.publish(1, 'invoice.paid', { card: 'PAYLOAD-SECRET-4242' })) as [string];
    await dispatcher.runOnce();
    fx.clock.advance(30_000);
    await dispatcher.runOnce();
    await dispatcher.stop();

    const attempts = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'attempt');
    expect(attempts).toHaveLength(2);
    expect(attempts[0]).toMatchObject({
      delivery_id: id,
      endpoint_id: endpoint.id,
      attempt_no: 1,
      response_status: 503,
      error: 'http_status',
      delivery_status: 'pending',
      manual: false,
    });
    expect(attempts[1]).toMatchObject({
      attempt_no: 2,
      response_status: 200,
      error: null,
      delivery_status: 'succeeded',
    });
    expect(typeof attempts[0].duration_ms).toBe('number');
    const all = lines.join('\n');
    for (const secret of [SECRET, 'RECEIVER-TOKEN', 'PAYLOAD-SECRET-4242', 'RESPONSE-BODY-TEXT', 'v1,']) {
      expect(all).not.toContain(secret);
    }
  });
});
