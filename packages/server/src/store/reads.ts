import { firstIdAt } from '@herald/protocol';
import { type Kysely, sql } from 'kysely';
import {
  alertEntryFromRow,
  apiKeyFromRow,
  attemptFromRow,
  connectionFromRow,
  deliveryFromRow,
  endpointFromRow,
  eventFromRow,
  sealedEndpointColumns,
  sealedSecretColumns,
} from './rows.js';
import type { Database } from './schema.js';
import type { SecretBox } from './secret-box.js';
import type { AlertEntry, DeliveryContext, DeliveryStatus, EndpointRecord, Page, Store } from './types.js';

/**
 * The Store methods that are plain Kysely queries, written once for any dialect: both stores keep
 * the same tables and columns (times as integer ms, JSON as text, flags as 0/1), so the same query
 * builds valid SQLite and PostgreSQL. Multi-statement writes (publish, claim, attempts) stay in each
 * store, where they use what their database does best.
 */
export type KyselyQueries = Pick<
  Store,
  | 'countActiveAdminKeys'
  | 'createAccount'
  | 'createApiKey'
  | 'findApiKeyByHash'
  | 'listApiKeys'
  | 'createEndpoint'
  | 'getEndpoint'
  | 'listEndpoints'
  | 'updateEndpoint'
  | 'getEvent'
  | 'listEvents'
  | 'listEndpointStream'
  | 'listDeliveries'
  | 'deliveryStats'
  | 'accountHealth'
  | 'listAlerts'
  | 'getDelivery'
  | 'listAttempts'
  | 'listDeliveriesOfEvent'
  | 'describeDeliveries'
  | 'claimPeriodicRun'
  | 'getConnection'
  | 'listConnections'
  | 'endpointLeaseOwners'
>;

/** A page of rows read with `limit + 1`: the extra row only says there is more. The one copy, for both stores. */
function page<T extends { id: string }>(rows: T[], limit: number): Page<T> {
  const more = rows.length > limit;
  const data = more ? rows.slice(0, limit) : rows;
  return { data, nextCursor: more ? (data[data.length - 1]?.id ?? null) : null };
}

function newestFirst(a: AlertEntry, b: AlertEntry): number {
  if (a.openedAt !== b.openedAt) return b.openedAt - a.openedAt;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/** `box` seals endpoint secrets on write and opens them on read. */
export function kyselyQueries(db: Kysely<Database>, box: SecretBox): KyselyQueries {
  async function getEndpoint(accountId: string, id: string): Promise<EndpointRecord | undefined> {
    const row = await db
      .selectFrom('endpoints')
      .selectAll()
      .where('account_id', '=', accountId)
      .where('id', '=', id)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    return row && endpointFromRow(row, box);
  }

  return {
    async countActiveAdminKeys() {
      const row = await db
        .selectFrom('api_keys')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('role', '=', 'admin')
        .where('revoked_at', 'is', null)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    async createAccount(id, createdAt) {
      await db.insertInto('accounts').values({ id, created_at: createdAt }).execute();
    },
    async createApiKey(key) {
      await db
        .insertInto('api_keys')
        .values({
          id: key.id,
          account_id: key.accountId,
          role: key.role,
          prefix: key.prefix,
          hash: key.hash,
          created_at: key.createdAt,
          revoked_at: key.revokedAt,
        })
        .execute();
    },
    async findApiKeyByHash(hash) {
      const row = await db.selectFrom('api_keys').selectAll().where('hash', '=', hash).executeTakeFirst();
      return row && apiKeyFromRow(row);
    },
    async listApiKeys(accountId) {
      const rows = await db
        .selectFrom('api_keys')
        .selectAll()
        .where('account_id', '=', accountId)
        .where('revoked_at', 'is', null)
        .orderBy('id')
        .execute();
      return rows.map(apiKeyFromRow);
    },

    async createEndpoint(ep) {
      const sealed = sealedEndpointColumns(box, ep);
      await db
        .insertInto('endpoints')
        .values({
          id: ep.id,
          account_id: ep.accountId,
          tenant_id: ep.tenantId ?? null,
          url: sealed.url ?? ep.url,
          headers: sealed.headers ?? '{}',
          description: ep.description,
          event_types: JSON.stringify(ep.eventTypes),
          connection_ids: JSON.stringify(ep.connectionIds),
          secret: box.seal(ep.secret),
          previous_secret: null,
          previous_secret_expires_at: null,
          signature_scheme: ep.signatureScheme,
          rate_limit_per_s: ep.rateLimitPerS,
          disabled: ep.disabled ? 1 : 0,
          disabled_reason: null,
          last_sequence: 0,
          circuit_probes: 0,
          created_at: ep.createdAt,
          updated_at: ep.createdAt,
          deleted_at: null,
        })
        .execute();
      return (await getEndpoint(ep.accountId, ep.id)) as EndpointRecord;
    },
    getEndpoint,
    async listEndpoints(accountId, { cursor, limit, tenantId }) {
      let query = db
        .selectFrom('endpoints')
        .selectAll()
        .where('account_id', '=', accountId)
        .where('deleted_at', 'is', null);
      // endpoints_tenant with a tenant.
      if (tenantId !== undefined) query = query.where('tenant_id', '=', tenantId);
      if (cursor) query = query.where('id', '>', cursor);
      const rows = await query
        .orderBy('id')
        .limit(limit + 1)
        .execute();
      return page(
        rows.map((r) => endpointFromRow(r, box)),
        limit,
      );
    },
    async updateEndpoint(accountId, id, patch, at) {
      const set: Partial<Database['endpoints']> = { updated_at: at };
      if (patch.description !== undefined) set.description = patch.description;
      if (patch.eventTypes !== undefined) set.event_types = JSON.stringify(patch.eventTypes);
      if (patch.connectionIds !== undefined) set.connection_ids = JSON.stringify(patch.connectionIds);
      if (patch.signatureScheme !== undefined) set.signature_scheme = patch.signatureScheme;
      if (patch.rateLimitPerS !== undefined) set.rate_limit_per_s = patch.rateLimitPerS;
      if (patch.disabled !== undefined) set.disabled = patch.disabled ? 1 : 0;
      if (patch.disabled === false) {
        // A person re-enabled it: a fresh start, its circuit closed too.
        set.failing_since = null;
        set.circuit_opened_at = null;
        set.circuit_probe_at = null;
        set.circuit_probes = 0;
      }
      if (patch.disabledReason !== undefined) set.disabled_reason = patch.disabledReason;
      Object.assign(set, sealedSecretColumns(box, patch), sealedEndpointColumns(box, patch));
      if (patch.previousSecretExpiresAt !== undefined) set.previous_secret_expires_at = patch.previousSecretExpiresAt;
      const rotate = patch.rotateSecret;
      if (rotate) {
        set.secret = box.seal(rotate.to);
        set.previous_secret_expires_at = rotate.previousExpiresAt;
      }
      const row = await db
        .updateTable('endpoints')
        .set(set)
        // The stored secret as the row holds it when the UPDATE runs, not as a request read it earlier.
        .$if(rotate !== undefined, (q) => q.set((eb) => ({ previous_secret: eb.ref('endpoints.secret') })))
        .where('account_id', '=', accountId)
        .where('id', '=', id)
        .where('deleted_at', 'is', null)
        // The row as this UPDATE wrote it: a read after it could already see another request's write.
        .returningAll()
        .executeTakeFirst();
      return row && endpointFromRow(row, box);
    },

    async getEvent(accountId, id) {
      const row = await db
        .selectFrom('events')
        .selectAll()
        .where('account_id', '=', accountId)
        .where('id', '=', id)
        .executeTakeFirst();
      return row && eventFromRow(row);
    },
    async listEvents(accountId, { type, connectionId, after, limit, tenantId }) {
      // Uses events_account_feed (account_id, feed_seq). Each store hands feed_seq out in commit
      // order (see its publish), so a cursor can never pass an event that commits later.
      let query = db.selectFrom('events').selectAll().where('account_id', '=', accountId);
      if (after) query = query.where('feed_seq', '>', Number(after));
      if (type) query = query.where('type', '=', type);
      if (connectionId) query = query.where('connection_id', '=', connectionId);
      // events_tenant_feed with a tenant.
      if (tenantId !== undefined) query = query.where('tenant_id', '=', tenantId);
      const rows = (await query.orderBy('feed_seq').limit(limit).execute()).map(eventFromRow);
      const last = rows[rows.length - 1];
      return { data: rows, nextCursor: last ? String(last.feedSeq) : (after ?? '0') };
    },
    async listEndpointStream(accountId, endpointId, afterSequence, limit) {
      // Uses deliveries_endpoint_sequence.
      const rows = await db
        .selectFrom('deliveries')
        .innerJoin('events', 'events.id', 'deliveries.event_id')
        .selectAll('deliveries')
        .select([
          'events.feed_seq as e_feed_seq',
          'events.type as e_type',
          'events.occurred_at as e_occurred_at',
          'events.connection_id as e_connection_id',
          'events.data as e_data',
          'events.created_at as e_created_at',
        ])
        .where('deliveries.account_id', '=', accountId)
        .where('deliveries.endpoint_id', '=', endpointId)
        .where('deliveries.sequence', '>', afterSequence)
        .orderBy('deliveries.sequence')
        .limit(limit)
        .execute();
      return rows.map((r) => ({
        delivery: deliveryFromRow(r),
        event: eventFromRow({
          feed_seq: r.e_feed_seq,
          id: r.event_id,
          account_id: r.account_id,
          tenant_id: r.tenant_id,
          type: r.e_type,
          occurred_at: r.e_occurred_at,
          connection_id: r.e_connection_id,
          data: r.e_data,
          created_at: r.e_created_at,
        }),
      }));
    },

    async listDeliveries(accountId, { status, endpointId, eventId, cursor, limit, tenantId }) {
      // Newest first. Uses deliveries_account_status with a status, deliveries_account without.
      let query = db.selectFrom('deliveries').selectAll().where('account_id', '=', accountId);
      if (status) query = query.where('status', '=', status);
      if (endpointId) query = query.where('endpoint_id', '=', endpointId);
      if (eventId) query = query.where('event_id', '=', eventId);
      // deliveries_tenant with a tenant and no status.
      if (tenantId !== undefined) query = query.where('tenant_id', '=', tenantId);
      if (cursor) query = query.where('id', '<', cursor);
      const rows = await query
        .orderBy('id', 'desc')
        .limit(limit + 1)
        .execute();
      return page(rows.map(deliveryFromRow), limit);
    },
    async deliveryStats(accountId, { since, until, bucketMs, tenantId }) {
      // deliveries_account (account_id, id): ids sort by creation time, so the window is an id range
      // (deliveries_tenant, the same range, for one tenant).
      let inWindow = db
        .selectFrom('deliveries')
        .where('account_id', '=', accountId)
        .where('id', '>=', firstIdAt('delivery', since))
        .where('id', '<', firstIdAt('delivery', until));
      if (tenantId !== undefined) inWindow = inWindow.where('tenant_id', '=', tenantId);
      // A literal, not a parameter: PostgreSQL must see the SELECT and GROUP BY expressions as one.
      const width = sql.lit(Math.max(1, Math.floor(bucketMs)));
      const bucket = sql<number>`(created_at / ${width}) * ${width}`;
      const [counts, failed] = await Promise.all([
        inWindow
          .select([bucket.as('bucket'), 'status', (eb) => eb.fn.countAll<number>().as('n')])
          .groupBy([bucket, 'status'])
          .execute(),
        inWindow
          .where('status', '=', 'failed')
          .select(['endpoint_id', (eb) => eb.fn.countAll<number>().as('n')])
          .groupBy('endpoint_id')
          .execute(),
      ]);
      return {
        counts: counts.map((r) => ({
          bucketStart: Number(r.bucket),
          status: r.status as DeliveryStatus,
          count: Number(r.n),
        })),
        failedByEndpoint: failed.map((r) => ({ endpointId: r.endpoint_id, failed: Number(r.n) })),
      };
    },
    async accountHealth(accountId, now, { tenantId } = {}) {
      // One tenant's rows only, when asked (a portal session's overview).
      const tenant = tenantId ?? '';
      const scoped = tenantId !== undefined;
      const tenantOnly = scoped ? sql`AND d.tenant_id = ${tenant}` : sql``;
      // Literal flags, not parameters: a partial index serves only a query that repeats its WHERE.
      const [oldest, failing, disabled] = await Promise.all([
        // One probe of deliveries_endpoint_due per endpoint of the account that is enabled with its
        // circuit closed, as /readyz and /metrics read it (claim-sql.ts FIRST_DUE_PER_ENDPOINT).
        // Not a walk of the account's due deliveries in due order (the dropped deliveries_account_due):
        // an open circuit's backlog is due (at its created_at, circuit-sql.ts) and would be stepped
        // over row by row. Waiting deliveries
        // (next_attempt_at NULL: a disabled endpoint's) are outside every range.
        sql<{ id: string; next_attempt_at: number | string }>`
          SELECT id, next_attempt_at FROM (
            SELECT
              (SELECT d.id FROM deliveries d
               WHERE d.endpoint_id = e.id AND d.status = 'pending' AND d.next_attempt_at <= ${now}
                 ${tenantOnly}
               ORDER BY d.next_attempt_at, d.sequence LIMIT 1) AS id,
              (SELECT d.next_attempt_at FROM deliveries d
               WHERE d.endpoint_id = e.id AND d.status = 'pending' AND d.next_attempt_at <= ${now}
                 ${tenantOnly}
               ORDER BY d.next_attempt_at, d.sequence LIMIT 1) AS next_attempt_at
            FROM endpoints e
            WHERE e.account_id = ${accountId} AND e.circuit_opened_at IS NULL
              AND NOT (e.disabled = 1 AND e.deleted_at IS NULL)) AS f
          WHERE next_attempt_at IS NOT NULL
          ORDER BY next_attempt_at LIMIT 1`
          .execute(db)
          .then((r) => r.rows[0]),
        db
          .selectFrom('endpoints')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('account_id', '=', accountId)
          .$if(scoped, (qb) => qb.where('tenant_id', '=', tenant))
          .where(sql<boolean>`failing_since IS NOT NULL AND disabled = 0 AND deleted_at IS NULL`)
          .executeTakeFirstOrThrow(),
        db
          .selectFrom('endpoints')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('account_id', '=', accountId)
          .$if(scoped, (qb) => qb.where('tenant_id', '=', tenant))
          .where(sql<boolean>`disabled = 1 AND deleted_at IS NULL`)
          .executeTakeFirstOrThrow(),
      ]);
      return {
        oldestDue: oldest ? { deliveryId: oldest.id, dueAt: Number(oldest.next_attempt_at) } : null,
        failingEndpoints: Number(failing.n),
        disabledEndpoints: Number(disabled.n),
      };
    },
    async listAlerts(accountId, { state, resolvedSince, cursor, limit }) {
      // Newest first by (opened_at, id). The cursor is an id; its row gives the position.
      let after: AlertEntry | undefined;
      if (cursor) {
        const row = await db
          .selectFrom('alert_history')
          .selectAll()
          .where('account_id', '=', accountId)
          .where('id', '=', cursor)
          .executeTakeFirst();
        if (!row) return { data: [], nextCursor: null };
        after = alertEntryFromRow(row);
      }
      const base = () => db.selectFrom('alert_history').selectAll().where('account_id', '=', accountId);
      // Open ones: one page of alert_history_open from the cursor on (a row value: a range on the
      // index, where an OR would scan from its top). Resolved ones: the range of
      // alert_history_resolved since the window starts, whole (the window bounds it, however long
      // the history; a cursor on opened_at there would walk the history instead), sorted here.
      const [open, resolved] = await Promise.all([
        state === 'resolved'
          ? []
          : base()
              .where(sql<boolean>`resolved_at IS NULL`)
              .$if(after !== undefined, (q) =>
                q.where((eb) => eb(eb.refTuple('opened_at', 'id'), '<', eb.tuple(after!.openedAt, after!.id))),
              )
              .orderBy('opened_at', 'desc')
              .orderBy('id', 'desc')
              .limit(limit + 1)
              .execute(),
        state === 'open'
          ? []
          : base().where(sql<boolean>`resolved_at IS NOT NULL`).where('resolved_at', '>=', resolvedSince).execute(),
      ]);
      const rows = [...open, ...resolved]
        .map(alertEntryFromRow)
        .filter((a) => after === undefined || newestFirst(after, a) < 0)
        .sort(newestFirst)
        .slice(0, limit + 1);
      return page(rows, limit);
    },
    async getDelivery(accountId, id) {
      const row = await db
        .selectFrom('deliveries')
        .selectAll()
        .where('account_id', '=', accountId)
        .where('id', '=', id)
        .executeTakeFirst();
      return row && deliveryFromRow(row);
    },
    async listAttempts(deliveryId) {
      const rows = await db
        .selectFrom('attempts')
        .selectAll()
        .where('delivery_id', '=', deliveryId)
        .orderBy('attempt_no')
        .orderBy('id')
        .execute();
      return rows.map(attemptFromRow);
    },
    async describeDeliveries(accountId, deliveries) {
      const described = new Map<string, DeliveryContext>();
      if (deliveries.length === 0) return described;
      const eventIds = [...new Set(deliveries.map((d) => d.eventId))];
      const endpointIds = [...new Set(deliveries.map((d) => d.endpointId))];
      const [events, endpoints, attempts] = await Promise.all([
        db
          .selectFrom('events')
          .select(['id', 'type'])
          .where('account_id', '=', accountId)
          .where('id', 'in', eventIds)
          .execute(),
        // Deleted endpoints too: a failed delivery of one still says where it was going.
        db
          .selectFrom('endpoints')
          .selectAll()
          .where('account_id', '=', accountId)
          .where('id', 'in', endpointIds)
          .execute(),
        // Each delivery's latest attempt: one probe of attempts_delivery per delivery.
        db
          .selectFrom('attempts as a')
          .selectAll('a')
          .where(
            'a.delivery_id',
            'in',
            deliveries.map((d) => d.id),
          )
          .where('a.id', '=', (eb) =>
            eb
              .selectFrom('attempts as b')
              .select('b.id')
              .whereRef('b.delivery_id', '=', 'a.delivery_id')
              .orderBy('b.attempt_no', 'desc')
              .orderBy('b.id', 'desc')
              .limit(1),
          )
          .execute(),
      ]);
      const typeOf = new Map(events.map((e) => [e.id, e.type]));
      const endpointOf = new Map(endpoints.map((r) => [r.id, endpointFromRow(r, box)]));
      const attemptOf = new Map(attempts.map((r) => [r.delivery_id, attemptFromRow(r)]));
      for (const d of deliveries) {
        const endpoint = endpointOf.get(d.endpointId);
        described.set(d.id, {
          eventType: typeOf.get(d.eventId) ?? null,
          endpointDescription: endpoint?.description ?? null,
          endpointUrl: endpoint?.url ?? null,
          lastAttempt: attemptOf.get(d.id) ?? null,
        });
      }
      return described;
    },
    async endpointLeaseOwners() {
      const rows = await db.selectFrom('endpoint_leases').select('owner').distinct().execute();
      return rows.map((r) => r.owner);
    },
    async claimPeriodicRun({ name, now, intervalMs, owner }) {
      // One statement: an insert for the first run ever, else an update that only happens when the
      // last run is old enough. Racing processes serialise on the row; the losers' WHERE fails.
      const won = await db
        .insertInto('periodic_runs')
        .values({ name, last_run_at: now, owner })
        .onConflict((oc) =>
          oc
            .column('name')
            .doUpdateSet({ last_run_at: now, owner })
            .where('periodic_runs.last_run_at', '<=', now - Math.floor(intervalMs * 0.9)),
        )
        .returning('name')
        .executeTakeFirst();
      return won !== undefined;
    },

    async getConnection(accountId, id) {
      const row = await db
        .selectFrom('connections')
        .selectAll()
        .where('account_id', '=', accountId)
        .where('id', '=', id)
        .executeTakeFirst();
      return row && connectionFromRow(row);
    },
    async listConnections(accountId, { cursor, limit, tenantId }) {
      // Primary key (account_id, id); connections_tenant with a tenant.
      let query = db.selectFrom('connections').selectAll().where('account_id', '=', accountId);
      if (tenantId !== undefined) query = query.where('tenant_id', '=', tenantId);
      if (cursor) query = query.where('id', '>', cursor);
      const rows = await query
        .orderBy('id')
        .limit(limit + 1)
        .execute();
      return page(rows.map(connectionFromRow), limit);
    },

    async listDeliveriesOfEvent(accountId, eventId) {
      const rows = await db
        .selectFrom('deliveries')
        .selectAll()
        .where('account_id', '=', accountId)
        .where('event_id', '=', eventId)
        .orderBy('id')
        .execute();
      return rows.map(deliveryFromRow);
    },
  };
}
