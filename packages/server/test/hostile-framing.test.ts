import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHerald, type TestHerald } from './harness.js';
import { jsonOf, type RawResponse, rawRequest } from './raw-http.js';

/** The contract's error body, with the same request id in the header and the body. */
function expectContractError(response: RawResponse, status: number, what: string): void {
  expect(response.status, what).toBe(status);
  const body = jsonOf(response) as { error?: Record<string, unknown> } | undefined;
  expect(body?.error, `${what}: ${response.body}`).toMatchObject({
    code: 'INVALID_REQUEST',
    type: 'invalid_request_error',
  });
  expect(response.headers['x-request-id'], what).toMatch(/^req_/);
  expect(body?.error?.request_id, what).toBe(response.headers['x-request-id']);
}

describe('requests that break before routing still get the error shape, and a slow client is cut off', () => {
  let h: TestHerald;
  beforeAll(async () => {
    h = await startTestHerald({ headersTimeoutMs: 1_000, requestTimeoutMs: 2_000 }, 'api');
  });
  afterAll(() => h.close());

  it('answers a malformed request line, a doubled content-length and 16 KB of headers in the contract shape', async () => {
    const cases: Array<[string, string]> = [
      ['a malformed request line', 'GET /v1/events HTTP/1.1 trailing-garbage\r\nhost: x\r\n\r\n'],
      ['a request line that is not HTTP', 'HELLO\r\n\r\n'],
      [
        'two different content-lengths',
        'POST /v1/events HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 2\r\ncontent-length: 40\r\n\r\n{}',
      ],
      ['headers over 16 KB', `GET /v1/events HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(17 * 1024)}\r\n\r\n`],
    ];
    for (const [what, bytes] of cases) expectContractError(await rawRequest(h.url, bytes), 400, what);
  });

  it('cuts off a client that drips its headers, and one that drips its body', async () => {
    const slowHeaders = await rawRequest(
      h.url,
      `GET /v1/events HTTP/1.1\r\nhost: x\r\nx-pad: ${'a'.repeat(200)}\r\n\r\n`,
      {
        drip: { everyMs: 250 },
        timeoutMs: 15_000,
      },
    );
    expectContractError(slowHeaders, 400, 'slow headers');
    // All of it would take about a minute at this pace.
    expect(slowHeaders.closedAfterMs).toBeLessThan(15_000);

    const body = JSON.stringify({ type: 'order.created', data: { pad: 'x'.repeat(200) } });
    const head = `POST /v1/events HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${h.key}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`;
    const slowBody = await rawRequest(h.url, head + body, { drip: { everyMs: 100 }, timeoutMs: 20_000 });
    expect(slowBody.status).not.toBe(202);
    expect(slowBody.closedAfterMs).toBeLessThan(20_000);
  });

  it('routes a connection id of 101 to 255 characters, and refuses 256 naming the field', async () => {
    for (const length of [101, 200, 255]) {
      const id = `con_${'x'.repeat(length - 4)}`;
      const r = await h.request('POST', `/v1/connections/${id}/syncs`, { status: 'started' });
      expect(r.status, `${length} characters`).toBe(202);
      expect(r.body.connection_id).toBe(id);
      expect((await h.request('GET', `/v1/connections/${id}/sync-status`)).status).toBe(200);
    }
    const encoded = `con_${'%C3%A9'.repeat(120)}`; // 124 characters once decoded, 724 as sent
    expect((await h.request('POST', `/v1/connections/${encoded}/syncs`, { status: 'started' })).status).toBe(202);
    const tooLong = await h.request('POST', `/v1/connections/${'x'.repeat(256)}/syncs`, { status: 'started' });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.error.message).toMatch(/^id: /);
  });
});
