import { describe, expect, it } from 'vitest';
import { alertText } from '../src/alerts.js';
import type { Alert } from '../src/api.js';

function alert(overrides: Partial<Alert>): Alert {
  return {
    id: 'alrt_1',
    kind: 'endpoint_failure_rate',
    endpoint_id: 'ep_1',
    state: 'open',
    value: 0.8,
    threshold: 0.5,
    message: '',
    details: {},
    opened_at: '2026-11-27T06:00:00.000Z',
    resolved_at: null,
    ...overrides,
  };
}

describe('an alert on the overview', () => {
  it('says its message', () => {
    expect(alertText(alert({ message: '8 of 10 attempts to endpoint ep_1 failed in the last 15 minutes.' }))).toBe(
      '8 of 10 attempts to endpoint ep_1 failed in the last 15 minutes.',
    );
  });

  it('says its kind and figures when it has no message', () => {
    expect(alertText(alert({}))).toBe('Attempts to endpoint ep_1 failed at a rate of 0.8 (threshold 0.5).');
    expect(alertText(alert({ kind: 'delivery_backlog', endpoint_id: null, value: 420, threshold: 300 }))).toBe(
      'The oldest due delivery had waited 420 s (threshold 300 s).',
    );
  });
});
