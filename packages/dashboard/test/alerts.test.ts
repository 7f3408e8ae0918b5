import { describe, expect, it } from 'vitest';
import { openAlerts } from '../src/alerts.js';
import type { HeraldEvent } from '../src/api.js';

let n = 0;
function alert(data: Record<string, unknown>): HeraldEvent {
  n++;
  const at = new Date(Date.parse('2026-11-27T06:00:00Z') + n * 1000).toISOString();
  return { id: `evt_${n}`, type: 'alert.triggered', occurred_at: at, connection_id: null, data, created_at: at };
}

describe('open alerts on the overview', () => {
  it('keeps the latest event of each alert and endpoint, and drops the ones resolved since', () => {
    const open = openAlerts([
      alert({ alert: 'failure_rate', endpoint_id: 'ep_1', message: 'ep_1 fails 50%' }),
      alert({ alert: 'failure_rate', endpoint_id: 'ep_2', message: 'ep_2 fails 80%' }),
      alert({ alert: 'queue_depth', message: 'queue at 5000' }),
      alert({ alert: 'failure_rate', endpoint_id: 'ep_1', resolved: true }),
      alert({ alert: 'queue_depth', message: 'queue at 9000' }),
    ]);
    expect(open.map((a) => a.message)).toEqual(['queue at 9000', 'ep_2 fails 80%']);
  });
});
