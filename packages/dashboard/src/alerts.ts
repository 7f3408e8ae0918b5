import type { Alert } from './api.js';

/**
 * What an alert says: the message it fired with, or, for one without (opened before Herald kept
 * messages), its kind and the figure that crossed the threshold.
 */
export function alertText(alert: Alert): string {
  if (alert.message) return alert.message;
  if (alert.kind === 'delivery_backlog') {
    return `The oldest due delivery had waited ${alert.value} s (threshold ${alert.threshold} s).`;
  }
  return `Attempts to endpoint ${alert.endpoint_id} failed at a rate of ${alert.value} (threshold ${alert.threshold}).`;
}
