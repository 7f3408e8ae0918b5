import { newId } from '@herald/protocol';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { redactedUrl } from '../endpoint-credentials.js';
import type { EndpointRecord, PublishInput, Store } from '../store/types.js';

/**
 * Disabling an endpoint, for one of two reasons, and telling its account with an `endpoint.disabled`
 * event: `gone` (it answered 410 Gone) or `failing` (every attempt failed for config.disableAfterMs,
 * `--disable-after`, 5 days). Its pending deliveries stay pending: nothing is claimed for a disabled
 * endpoint, and re-enabling it (PATCH disabled: false) resumes those still inside their window.
 *
 * The store's disableEndpoint is one conditional UPDATE … WHERE disabled = 0: of several processes
 * that decide at once, exactly one gets the row back and publishes, so the event is published once;
 * the event is written in the same transaction as the update, so a crash keeps both or neither.
 */
export type DisableReason = 'gone' | 'failing';

const MESSAGES: Record<DisableReason, (config: Pick<Config, 'disableAfterMs'>) => string> = {
  gone: () => 'The endpoint answered 410 Gone.',
  failing: (config) =>
    `Every attempt to the endpoint failed for ${Math.round(config.disableAfterMs / 3_600_000)} hours.`,
};

/** Disables the endpoint and publishes `endpoint.disabled`; false when it was already disabled (or deleted). */
export async function disableEndpoint(
  deps: { store: Pick<Store, 'disableEndpoint'>; config: Pick<Config, 'disableAfterMs'> },
  endpoint: Pick<EndpointRecord, 'id' | 'accountId' | 'url' | 'failingSince'>,
  reason: DisableReason,
  now: number,
  /** For `failing`: only if it is still failing since at or before this time (a success may have just come). */
  failingSinceAtOrBefore?: number,
): Promise<boolean> {
  const message = MESSAGES[reason](deps.config);
  const disabled = await deps.store.disableEndpoint(endpoint.accountId, endpoint.id, {
    reason: message,
    at: now,
    failingSinceAtOrBefore,
    event: endpointDisabledEvent(endpoint, reason, message, now),
  });
  return disabled !== undefined;
}

/** The event; its data matches the `endpoint.disabled` schema of event-types.ts. */
export function endpointDisabledEvent(
  endpoint: Pick<EndpointRecord, 'id' | 'accountId' | 'url' | 'failingSince'>,
  reason: DisableReason,
  message: string,
  now: number,
): PublishInput {
  return {
    accountId: endpoint.accountId,
    id: newId('event', now),
    type: 'endpoint.disabled',
    occurredAt: now,
    connectionId: null,
    data: {
      endpoint_id: endpoint.id,
      // The event reaches read keys and receivers: never the URL's user:pass.
      url: redactedUrl(endpoint.url),
      reason,
      message,
      disabled_at: new Date(now).toISOString(),
      ...(reason === 'failing' && endpoint.failingSince !== null
        ? { failing_since: new Date(endpoint.failingSince).toISOString() }
        : {}),
    },
    createdAt: now,
  };
}

/**
 * The periodic check: disables every enabled endpoint whose attempts have all failed since at least
 * config.disableAfterMs ago. Returns the ids it disabled.
 */
export async function disableFailingEndpoints(deps: {
  store: Pick<Store, 'listFailingEndpoints' | 'disableEndpoint'>;
  config: Pick<Config, 'disableAfterMs' | 'clock'>;
  logger: Logger;
}): Promise<string[]> {
  const now = deps.config.clock.now();
  const cutoff = now - deps.config.disableAfterMs;
  const disabled: string[] = [];
  for (const endpoint of await deps.store.listFailingEndpoints(cutoff)) {
    if (await disableEndpoint(deps, endpoint, 'failing', now, cutoff)) {
      deps.logger.warn(
        { endpoint_id: endpoint.id, account_id: endpoint.accountId, failing_since: endpoint.failingSince },
        'endpoint failed every attempt for the --disable-after period and was disabled',
      );
      disabled.push(endpoint.id);
    }
  }
  return disabled;
}
