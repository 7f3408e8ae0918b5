import { type Envelope, generateSecret, newId, serializeEnvelope, signatureHeaders } from '@herald/protocol';

export const SECRET = generateSecret(32);

let sequence = 0;

/** An envelope as Herald's sender builds it. */
export function envelope(overrides: Partial<Envelope> = {}): Envelope {
  return {
    id: newId('event'),
    type: 'sync.completed',
    occurred_at: new Date().toISOString(),
    connection_id: 'con_test',
    endpoint_id: 'ep_test',
    sequence: ++sequence,
    data: { rows: 1 },
    ...overrides,
  };
}

/** Headers and body of a delivery signed as Herald's sender signs it. */
export function signed(
  event: Envelope,
  options: { secret?: string; timestamp?: number; scheme?: 'standard-webhooks' | 'hmac-sha256'; body?: string } = {},
): { headers: Record<string, string>; body: string } {
  const body = options.body ?? serializeEnvelope(event);
  const headers = signatureHeaders({
    scheme: options.scheme ?? 'standard-webhooks',
    secrets: [options.secret ?? SECRET],
    id: event.id,
    timestamp: options.timestamp ?? Math.floor(Date.now() / 1000),
    body,
  });
  return { headers: { 'content-type': 'application/json', ...headers }, body };
}

/** POSTs a signed delivery; resolves with the status and parsed body. */
export async function post(
  url: string,
  delivery: { headers: Record<string, string>; body: string },
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, { method: 'POST', headers: delivery.headers, body: delivery.body });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : {} };
}

type Falsy = false | 0 | 0n | '' | null | undefined;

/** Polls `check` until it returns a truthy value (which it resolves to) or `timeoutMs` passes. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<Exclude<T, Falsy>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as Exclude<T, Falsy>;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}.`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
