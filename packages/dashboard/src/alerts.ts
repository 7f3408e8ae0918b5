import type { HeraldEvent } from './api.js';

export interface OpenAlert {
  key: string;
  event: HeraldEvent;
  message: string;
}

interface AlertData {
  alert?: string;
  resolved?: boolean;
  message?: string;
  endpoint_id?: string | null;
}

/**
 * Alerts still open: for each alert (its name and endpoint), the latest `alert.triggered` event,
 * unless that one says `resolved: true`. `events` are oldest first, as the feed returns them.
 */
export function openAlerts(events: HeraldEvent[]): OpenAlert[] {
  const latest = new Map<string, HeraldEvent>();
  for (const event of events) {
    const data = (event.data ?? {}) as AlertData;
    latest.set(`${data.alert ?? 'alert'}|${data.endpoint_id ?? ''}`, event);
  }
  const open: OpenAlert[] = [];
  for (const [key, event] of latest) {
    const data = (event.data ?? {}) as AlertData;
    if (data.resolved === true) continue;
    open.push({ key, event, message: data.message ?? data.alert ?? 'alert' });
  }
  return open.reverse();
}
