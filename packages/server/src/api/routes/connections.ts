import { newId } from '@herald/protocol';
import {
  ConnectionPageSchema,
  ConnectionParams,
  ConnectionSchema,
  DEFAULT_PAGE,
  SyncReportBody,
  SyncReportedSchema,
  TenantPageQuery,
} from '@herald/protocol/api';
import type { SyncCompletedData, SyncFailedData } from '../../event-types.js';
import type { ConnectionSyncReport } from '../../store/types.js';
import { callerOf } from '../auth.js';
import { invalid, notFound } from '../errors.js';
import { iso, presentConnection } from '../present.js';
import { publishIdempotently } from '../publish.js';
import { scopedStore } from '../scope.js';
import type { Api, RouteDeps } from '../server.js';
import { parseTime } from './events.js';

export function connectionRoutes(app: Api, deps: RouteDeps): void {
  const { store, config } = deps;
  /**
   * A producer reports a sync. `completed` and `failed` publish sync.completed / sync.failed through
   * the group commit, with the status change in the same transaction as the event.
   */
  app.post(
    '/v1/connections/:id/syncs',
    {
      schema: {
        operationId: 'reportSync',
        tags: ['Connections'],
        summary: 'Report a sync',
        description:
          'A producer says a sync of a connection started, completed or failed. `completed` and `failed` publish `sync.completed` / `sync.failed` in the same transaction as the status change. Send an `Idempotency-Key` to make a retry safe.',
        idempotent: true,
        params: ConnectionParams,
        body: SyncReportBody,
        response: { 202: SyncReportedSchema },
      },
    },
    async (request, reply) => {
      const { accountId } = callerOf(request);
      const connectionId = request.params.id;
      const body = request.body;
      const now = config.clock.now();
      const next =
        body.next_scheduled_at === undefined || body.next_scheduled_at === null
          ? body.next_scheduled_at
          : parseTime('next_scheduled_at', body.next_scheduled_at);
      // Operator-only route: the tenant must exist, and a connection keeps the first tenant it was given.
      const tenantId = await scopedStore(store, request).requireTenant(body.tenant_id);
      const known = tenantId === null ? undefined : await store.getConnection(accountId, connectionId);
      if (known?.tenantId != null && known.tenantId !== tenantId) {
        throw invalid(
          'tenant_id',
          `cannot be changed: connection ${connectionId} belongs to tenant "${known.tenantId}".`,
        );
      }
      const report: ConnectionSyncReport = {
        accountId,
        connectionId,
        tenantId,
        status: body.status,
        error: body.status === 'failed' ? (body.error ?? null) : null,
        nextScheduledAt: next,
        at: now,
      };
      // Two reports are one request when they name the same connection and carry the same body.
      const hashed = { syncs: connectionId, body };
      if (body.status === 'started') {
        // Announces nothing, but goes the same way, so its Idempotency-Key is checked and honoured.
        await publishIdempotently(
          deps,
          request,
          reply,
          {
            accountId,
            id: newId('event', now),
            type: 'sync.started',
            occurredAt: now,
            connectionId,
            data: null,
            createdAt: now,
            connectionSync: report,
            eventless: true,
          },
          hashed,
        );
        const connection = await store.getConnection(accountId, connectionId);
        if (!connection) throw notFound('connection', connectionId);
        return reply.code(202).send({ ...presentConnection(connection), event_id: null });
      }

      const before = known ?? (await store.getConnection(accountId, connectionId));
      const startedAt = before?.status === 'started' ? iso(before.syncStartedAt) : null;
      const nextScheduledAt = next === undefined ? iso(before?.nextScheduledSyncAt ?? null) : iso(next);
      const data: SyncCompletedData | SyncFailedData =
        body.status === 'completed'
          ? {
              connection_id: connectionId,
              status: 'completed',
              started_at: startedAt,
              completed_at: iso(now),
              next_scheduled_at: nextScheduledAt,
            }
          : {
              connection_id: connectionId,
              status: 'failed',
              error: report.error,
              started_at: startedAt,
              failed_at: iso(now),
              next_scheduled_at: nextScheduledAt,
            };
      const result = await publishIdempotently(
        deps,
        request,
        reply,
        {
          accountId,
          // The event belongs to the connection's tenant, named now or by an earlier report.
          tenantId: tenantId ?? before?.tenantId ?? null,
          id: newId('event', now),
          type: body.status === 'completed' ? 'sync.completed' : 'sync.failed',
          occurredAt: now,
          connectionId,
          data,
          createdAt: now,
          connectionSync: report,
        },
        hashed,
      );
      const connection = await store.getConnection(accountId, connectionId);
      if (!connection) throw notFound('connection', connectionId);
      return reply.code(202).send({ ...presentConnection(connection), event_id: result.id });
    },
  );

  const tenantScoped = { tenantScoped: true };

  app.get(
    '/v1/connections/:id/sync-status',
    {
      config: tenantScoped,
      schema: {
        operationId: 'getSyncStatus',
        tags: ['Connections'],
        summary: 'Get a connection’s sync status',
        description: 'Where the last sync of a connection stands, from its producer’s reports.',
        params: ConnectionParams,
        response: { 200: ConnectionSchema },
      },
    },
    async (request) => {
      const connection = await scopedStore(store, request).getConnection(request.params.id);
      if (!connection) throw notFound('connection', request.params.id);
      return presentConnection(connection);
    },
  );

  app.get(
    '/v1/connections',
    {
      config: tenantScoped,
      schema: {
        operationId: 'listConnections',
        tags: ['Connections'],
        summary: 'List connections',
        description: 'Every connection a producer has reported a sync of; `tenant_id` narrows to one tenant’s.',
        querystring: TenantPageQuery,
        response: { 200: ConnectionPageSchema },
      },
    },
    async (request) => {
      const page = await scopedStore(store, request).listConnections({
        tenantId: request.query.tenant_id,
        cursor: request.query.cursor,
        limit: request.query.limit ?? DEFAULT_PAGE,
      });
      return { data: page.data.map(presentConnection), next_cursor: page.nextCursor };
    },
  );
}
