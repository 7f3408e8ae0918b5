import type { DescribedDelivery, Delivery as PlainDelivery } from '@herald/client';
import { createClient, type HeraldClient, HeraldError } from '@herald/client';

/**
 * The public REST API, as the dashboard calls it: @herald/client with the signed-in key (or the
 * portal's session token), on this page's own origin. Types only come from @herald/protocol/api
 * through the client, so the bundle carries the client's few functions and no schema.
 */

export type {
  Alert,
  Attempt,
  Connection,
  CreateEndpointInput,
  DeliveriesParams,
  DeliveryStats,
  Endpoint,
  EndpointWithSecret,
  Event as HeraldEvent,
  Job,
  Page,
  Session as ApiSession,
} from '@herald/client';
export { HeraldError };

export type Api = HeraldClient;
export type Role = 'admin' | 'read';

/**
 * A delivery as the tables show it: the list, a single read and a retry's answer describe it (its
 * event type, endpoint, latest attempt); an event's own deliveries do not.
 */
export type Delivery = PlainDelivery & Partial<Omit<DescribedDelivery, keyof PlainDelivery>>;

/** `onUnauthorized` hears every 401 (the portal shows its "session expired" page). */
export function createApi(key: string, onUnauthorized?: () => void): Api {
  return createClient({
    url: '',
    apiKey: key,
    onError: (error) => {
      if (error.status === 401) onUnauthorized?.();
    },
  });
}

/**
 * The role of a key: GET /v1/api-keys is for admins only, so 200 means admin and 403 means read.
 * Any other error (401 for a wrong key) is thrown for the sign-in form to show.
 */
export async function detectRole(api: Api): Promise<Role> {
  try {
    await api.apiKeys.page();
    return 'admin';
  } catch (error) {
    if (error instanceof HeraldError && error.status === 403) return 'read';
    throw error;
  }
}

/** A filter's text as a query parameter: an empty field filters nothing. */
export const given = (text: string | null | undefined): string | undefined => (text ? text : undefined);
