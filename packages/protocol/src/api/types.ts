import type { Static } from 'typebox';
import type {
  AlertsQuery,
  BulkRetryBody,
  CreateApiKeyBody,
  CreateEndpointBody,
  DeliveriesQuery,
  EventsQuery,
  PageQuery,
  PatchEndpointBody,
  PortalSessionBody,
  PublishBody,
  PutTenantBody,
  StatsQuery,
  SyncReportBody,
  TenantPageQuery,
} from './requests.js';

/**
 * The API's request types, for @herald/client: `Static<>` of the routes' own TypeBox schemas (what
 * the server validates with). The response types are in responses.ts. Nothing here exists at run
 * time.
 */

export type CreateEndpointInput = Static<typeof CreateEndpointBody>;
export type UpdateEndpointInput = Static<typeof PatchEndpointBody>;
export type PageParams = Static<typeof PageQuery>;
export type PublishInput = Static<typeof PublishBody>;
export type EventsParams = Static<typeof EventsQuery>;
export type DeliveriesParams = Static<typeof DeliveriesQuery>;
export type AlertsParams = Static<typeof AlertsQuery>;
export type StatsParams = Static<typeof StatsQuery>;
export type CreateApiKeyInput = Static<typeof CreateApiKeyBody>;
export type BulkRetryInput = Static<typeof BulkRetryBody>;
export type SyncReportInput = Static<typeof SyncReportBody>;
/** A list that `?tenant_id=` narrows (endpoints, connections). */
export type TenantPageParams = Static<typeof TenantPageQuery>;
export type PutTenantInput = Static<typeof PutTenantBody>;
export type PortalSessionInput = Static<typeof PortalSessionBody>;
