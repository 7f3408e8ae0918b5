import { newId } from '@herald/protocol';
import type { EndpointRecord, Store } from '../store/types.js';

/**
 * Disables an endpoint that asked for it (410 Gone) and tells its account with an
 * `endpoint.disabled` event. Its pending deliveries stay pending: nothing is claimed for a disabled
 * endpoint, and re-enabling it resumes those still inside their window.
 * Returns false when the endpoint was already disabled (or deleted): the event is published once.
 */
export async function disableEndpoint(
  store: Pick<Store, 'getEndpoint' | 'updateEndpoint' | 'publish'>,
  endpoint: Pick<EndpointRecord, 'id' | 'accountId' | 'url'>,
  reason: 'gone',
  now: number,
): Promise<boolean> {
  const current = await store.getEndpoint(endpoint.accountId, endpoint.id);
  if (!current || current.disabled) return false;
  const message = 'The endpoint answered 410 Gone.';
  await store.updateEndpoint(endpoint.accountId, endpoint.id, { disabled: true, disabledReason: message }, now);
  await store.publish([
    {
      accountId: endpoint.accountId,
      id: newId('event', now),
      type: 'endpoint.disabled',
      occurredAt: now,
      connectionId: null,
      data: { endpoint_id: endpoint.id, url: current.url, reason, message, disabled_at: new Date(now).toISOString() },
      createdAt: now,
    },
  ]);
  return true;
}
