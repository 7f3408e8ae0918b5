import { newId } from '@herald/protocol';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { AlertRecord, PublishInput, Store } from '../store/types.js';

/**
 * Operational alerts, checked periodically in the dispatcher's process:
 *
 * - `endpoint_failure_rate`: an endpoint's attempts over the last 15 minutes failed at
 *   config.alertFailureRate (`--alert-failure-rate`, 0.5) or more, over at least
 *   config.alertMinAttempts (10) attempts, so that three unlucky attempts do not page anyone;
 * - `delivery_backlog`: an account's oldest due delivery has waited config.alertDueAgeMs
 *   (`--alert-due-age`, 5 min) or more.
 *
 * Crossing a threshold publishes `alert.triggered` to the account (data.resolved: false) and logs a
 * warning; recovering publishes it once more with resolved: true. Open alerts live in the store
 * (alerts table): a restart neither fires an open alert again nor forgets to resolve it, and of
 * several processes only the one whose insert (or delete) took effect publishes, in the same
 * transaction as that write.
 */

export const FAILURE_RATE_WINDOW_MS = 15 * 60 * 1000;

type AlertStore = Pick<
  Store,
  'endpointAttemptCounts' | 'overdueByAccount' | 'listOpenAlerts' | 'openAlert' | 'closeAlert'
>;

interface Reading {
  alert: AlertRecord;
  message: string;
  /** Extra fields of the event's data. */
  details: Record<string, unknown>;
}

/** Runs one check; returns the alerts it fired and resolved (by key), for tests and logs. */
export async function checkAlerts(deps: {
  store: AlertStore;
  config: Pick<Config, 'alertFailureRate' | 'alertMinAttempts' | 'alertDueAgeMs' | 'clock'>;
  logger: Logger;
}): Promise<{ fired: string[]; resolved: string[] }> {
  const { store, config, logger } = deps;
  const now = config.clock.now();
  const crossing = new Map<string, Reading>();
  const idOf = (accountId: string, key: string) => `${accountId} ${key}`;

  for (const c of await store.endpointAttemptCounts(now - FAILURE_RATE_WINDOW_MS)) {
    const rate = c.failures / c.attempts;
    if (c.attempts < config.alertMinAttempts || rate < config.alertFailureRate) continue;
    const key = `endpoint_failure_rate:${c.endpointId}`;
    crossing.set(idOf(c.accountId, key), {
      alert: {
        accountId: c.accountId,
        key,
        kind: 'endpoint_failure_rate',
        endpointId: c.endpointId,
        value: round(rate),
        threshold: config.alertFailureRate,
        openedAt: now,
      },
      message: `${c.failures} of ${c.attempts} attempts to endpoint ${c.endpointId} failed in the last 15 minutes.`,
      details: { attempts: c.attempts, failures: c.failures, window_seconds: FAILURE_RATE_WINDOW_MS / 1000 },
    });
  }
  for (const o of await store.overdueByAccount(now - config.alertDueAgeMs)) {
    const ageSeconds = Math.round((now - o.oldestDueAt) / 1000);
    crossing.set(idOf(o.accountId, 'delivery_backlog'), {
      alert: {
        accountId: o.accountId,
        key: 'delivery_backlog',
        kind: 'delivery_backlog',
        endpointId: null,
        value: ageSeconds,
        threshold: config.alertDueAgeMs / 1000,
        openedAt: now,
      },
      message: `The oldest due delivery has waited ${ageSeconds} s.`,
      details: { oldest_due_at: new Date(o.oldestDueAt).toISOString() },
    });
  }

  const fired: string[] = [];
  const resolved: string[] = [];
  const open = await store.listOpenAlerts();
  const openIds = new Set(open.map((a) => idOf(a.accountId, a.key)));
  for (const [id, reading] of crossing) {
    if (openIds.has(id)) continue;
    const event = alertEvent(reading.alert, false, reading.message, reading.details, now);
    if (!(await store.openAlert({ ...reading.alert, message: reading.message, details: reading.details }, event))) {
      continue;
    }
    logger.warn(
      {
        alert: reading.alert.kind,
        account_id: reading.alert.accountId,
        endpoint_id: reading.alert.endpointId,
        value: reading.alert.value,
        threshold: reading.alert.threshold,
      },
      `alert: ${reading.message}`,
    );
    fired.push(reading.alert.key);
  }
  for (const alert of open) {
    if (crossing.has(idOf(alert.accountId, alert.key))) continue;
    const message =
      alert.kind === 'delivery_backlog'
        ? `No due delivery has waited ${alert.threshold} s or more any longer.`
        : `Attempts to endpoint ${alert.endpointId} fail below the alert rate again.`;
    const event = alertEvent(alert, true, message, { triggered_at: new Date(alert.openedAt).toISOString() }, now);
    if (!(await store.closeAlert(alert.accountId, alert.key, event))) continue;
    logger.warn({ alert: alert.kind, account_id: alert.accountId, endpoint_id: alert.endpointId }, `alert resolved`);
    resolved.push(alert.key);
  }
  return { fired, resolved };
}

/** The event; its data matches the `alert.triggered` schema of event-types.ts. */
function alertEvent(
  alert: AlertRecord,
  resolved: boolean,
  message: string,
  details: Record<string, unknown>,
  now: number,
): PublishInput {
  return {
    accountId: alert.accountId,
    id: newId('event', now),
    type: 'alert.triggered',
    occurredAt: now,
    connectionId: null,
    data: {
      alert: alert.kind,
      ...(alert.endpointId === null ? {} : { endpoint_id: alert.endpointId }),
      value: alert.value,
      threshold: alert.threshold,
      resolved,
      message,
      ...details,
    },
    createdAt: now,
  };
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
