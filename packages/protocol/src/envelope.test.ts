import { describe, expect, it } from 'vitest';
import {
  BUILT_IN_EVENT_TYPES,
  type Envelope,
  EnvelopeError,
  EVENT_TYPE_PATTERN,
  parseEnvelope,
  readEnvelope,
  serializeEnvelope,
} from './envelope.js';

const ENVELOPE: Envelope = {
  id: 'evt_01JDQ3M8Z6K4X9V2B7N5R1T0WS',
  type: 'sync.completed',
  occurred_at: '2026-11-27T05:51:30.123Z',
  connection_id: 'con_01JDQ3M8Z6K4X9V2B7N5R1T0WT',
  endpoint_id: 'ep_01JDQ3M8Z6K4X9V2B7N5R1T0WV',
  sequence: 42,
  data: { rows: 1_200, tables: ['users', 'orders'] },
};

function envelopeError(parse: () => unknown): EnvelopeError {
  try {
    parse();
  } catch (error) {
    if (error instanceof EnvelopeError) return error;
    throw error;
  }
  throw new Error('The body was read, but it should have been refused.');
}

describe('serializeEnvelope', () => {
  it('writes the fields in the order of the wire format: id, type, occurred_at, connection_id, endpoint_id, sequence, data', () => {
    const shuffled: Envelope = {
      data: ENVELOPE.data,
      sequence: ENVELOPE.sequence,
      endpoint_id: ENVELOPE.endpoint_id,
      connection_id: ENVELOPE.connection_id,
      occurred_at: ENVELOPE.occurred_at,
      type: ENVELOPE.type,
      id: ENVELOPE.id,
    };
    expect(serializeEnvelope(shuffled)).toBe(
      '{"id":"evt_01JDQ3M8Z6K4X9V2B7N5R1T0WS","type":"sync.completed","occurred_at":"2026-11-27T05:51:30.123Z",' +
        '"connection_id":"con_01JDQ3M8Z6K4X9V2B7N5R1T0WT","endpoint_id":"ep_01JDQ3M8Z6K4X9V2B7N5R1T0WV",' +
        '"sequence":42,"data":{"rows":1200,"tables":["users","orders"]}}',
    );
  });

  it('sends an event without a connection as connection_id null', () => {
    const body = JSON.parse(serializeEnvelope({ ...ENVELOPE, connection_id: null }));
    expect(Object.keys(body)).toEqual([
      'id',
      'type',
      'occurred_at',
      'connection_id',
      'endpoint_id',
      'sequence',
      'data',
    ]);
    expect(body.connection_id).toBeNull();
  });

  it('does not leak fields of the delivery row that are not part of the envelope', () => {
    const row = { ...ENVELOPE, attempt_count: 3, secret: 'whsec_x' };
    expect(Object.keys(JSON.parse(serializeEnvelope(row)))).not.toContain('secret');
  });
});

describe('parseEnvelope', () => {
  it('reads back what Herald sent, from text or from the raw bytes of the request', () => {
    expect(parseEnvelope(serializeEnvelope(ENVELOPE))).toEqual(ENVELOPE);
    expect(parseEnvelope(new TextEncoder().encode(serializeEnvelope(ENVELOPE)))).toEqual(ENVELOPE);
  });

  it('reads a body from another Standard Webhooks sender, without endpoint_id, sequence or connection_id', () => {
    const body = JSON.stringify({
      id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      type: 'invoice.paid',
      timestamp: '2022-11-03T20:26:10.344522Z',
      data: { amount: 100 },
    });
    expect(parseEnvelope(body)).toEqual({
      id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      type: 'invoice.paid',
      occurred_at: '2022-11-03T20:26:10.344522Z',
      connection_id: null,
      endpoint_id: '',
      sequence: 0,
      data: { amount: 100 },
    });
  });

  it('prefers occurred_at over another sender timestamp, and leaves occurred_at empty when neither is text', () => {
    expect(
      parseEnvelope('{"id":"a","type":"b","occurred_at":"2026-01-01T00:00:00Z","timestamp":"x"}').occurred_at,
    ).toBe('2026-01-01T00:00:00Z');
    expect(parseEnvelope('{"id":"a","type":"b","timestamp":1667507170}').occurred_at).toBe('');
    expect(parseEnvelope('{"id":"a","type":"b"}').occurred_at).toBe('');
  });

  it('refuses a body that is not JSON with an EnvelopeError', () => {
    for (const body of ['', 'not json', '{"id":', new Uint8Array([0xff, 0xfe, 0x7b])]) {
      const error = envelopeError(() => parseEnvelope(body));
      expect(error.name).toBe('EnvelopeError');
      expect(error.message).toContain('not JSON');
    }
  });

  it('refuses JSON that is not an object', () => {
    for (const body of ['[]', 'null', '42', '"evt_1"']) {
      expect(envelopeError(() => parseEnvelope(body)).message).toContain('not a JSON object');
    }
  });

  it('refuses an envelope without an id or a type, naming the field', () => {
    expect(envelopeError(() => parseEnvelope('{"type":"sync.completed"}')).message).toContain('"id"');
    expect(envelopeError(() => parseEnvelope('{"id":"evt_1","type":7}')).message).toContain('"type"');
  });

  it("takes the id it is given (the signed webhook-id) over the body's, which stays in the payload", () => {
    const body = '{"id":"evt_app_7","data":{}}';
    expect(readEnvelope(body, { id: 'msg_1' })).toEqual({
      envelope: { id: 'msg_1', type: '', occurred_at: '', connection_id: null, endpoint_id: '', sequence: 0, data: {} },
      payload: { id: 'evt_app_7', data: {} },
    });
    expect(parseEnvelope('{"type":"a.b"}', { id: 'msg_2' }).id).toBe('msg_2');
    expect(parseEnvelope(body).id).toBe('evt_app_7');
  });

  it('refuses a sequence that is not a non-negative integer, since gaps could not be told', () => {
    for (const sequence of ['-1', '1.5', '"3"', 'true']) {
      const body = `{"id":"evt_1","type":"sync.completed","sequence":${sequence}}`;
      expect(envelopeError(() => parseEnvelope(body)).message).toContain('"sequence"');
    }
  });
});

describe('event types', () => {
  it('the built-in ones are those of the API contract', () => {
    expect(BUILT_IN_EVENT_TYPES).toEqual([
      'sync.completed',
      'sync.failed',
      'connection.auth_required',
      'connection.status_changed',
      'system.error',
      'endpoint.disabled',
      'alert.triggered',
    ]);
  });

  it('are dotted lower-case words, built-in or a producer own', () => {
    const pattern = new RegExp(EVENT_TYPE_PATTERN);
    for (const type of [...BUILT_IN_EVENT_TYPES, 'invoice.paid', 'ping', 'a.b_c.d2'])
      expect(pattern.test(type), type).toBe(true);
    for (const type of [
      'Sync.Completed',
      'sync..completed',
      '.sync',
      'sync.',
      'sync completed',
      '',
      'sync-completed',
    ]) {
      expect(pattern.test(type), type).toBe(false);
    }
  });
});
