import { BUILT_IN_EVENT_TYPES as PROTOCOL_TYPES } from '@herald/protocol';
import { describe, expect, it } from 'vitest';
import { BUILT_IN_EVENT_TYPES, eventDataIssues, isBuiltInEventType } from './event-types.js';

describe('event data schemas', () => {
  it('knows the built-in types and leaves producers’ own types alone', () => {
    expect(isBuiltInEventType('sync.completed')).toBe(true);
    expect(isBuiltInEventType('invoice.paid')).toBe(false);
    expect(eventDataIssues('invoice.paid', { whatever: true })).toEqual([]);
  });

  it('serves exactly the protocol’s built-in types, in its order, each with a schema', () => {
    expect(BUILT_IN_EVENT_TYPES.map((t) => t.name)).toEqual([...PROTOCOL_TYPES]);
    for (const t of BUILT_IN_EVENT_TYPES) expect(t.schema.type).toBe('object');
  });

  it('reports the field that does not match, as a JSON pointer into data', () => {
    const [issue] = eventDataIssues('sync.failed', { connection_id: 'con_1', error: 7 });
    expect(issue?.instancePath).toBe('/error');
    expect(eventDataIssues('connection.auth_required', {})[0]).toMatchObject({ keyword: 'required' });
  });

  it('accepts what Herald emits when it disables an endpoint', () => {
    const data = {
      endpoint_id: 'ep_01JD',
      url: 'https://example.com/hooks',
      reason: 'gone',
      message: 'The endpoint answered 410 Gone.',
      disabled_at: new Date(0).toISOString(),
    };
    expect(eventDataIssues('endpoint.disabled', data)).toEqual([]);
    expect(eventDataIssues('alert.triggered', { alert: 'failure_rate', resolved: true, value: 0.5 })).toEqual([]);
  });
});
