import type { Kysely } from 'kysely';
import { portalSessionFromRow, tenantFromRow } from './rows.js';
import type { Database } from './schema.js';
import type { Page, Store } from './types.js';

/**
 * Tenants and portal sessions: single statements, written once for both dialects (as reads.ts).
 * Deleting a tenant spans several statements and lives in each store.
 */
export type TenantQueries = Pick<
  Store,
  'putTenant' | 'getTenant' | 'listTenants' | 'createPortalSession' | 'findPortalSessionByHash' | 'deletePortalSessions'
>;

export function tenantQueries(db: Kysely<Database>): TenantQueries {
  async function getTenant(accountId: string, id: string) {
    const row = await db
      .selectFrom('tenants')
      .selectAll()
      .where('account_id', '=', accountId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && tenantFromRow(row);
  }

  return {
    async putTenant({ accountId, id, name, metadata, at }) {
      // Insert-or-nothing first, so the answer knows whether it created: two PUTs racing make one
      // tenant, one 201 and one 200.
      const inserted = await db
        .insertInto('tenants')
        .values({ account_id: accountId, id, name, metadata: JSON.stringify(metadata), created_at: at, updated_at: at })
        .onConflict((oc) => oc.columns(['account_id', 'id']).doNothing())
        .returningAll()
        .executeTakeFirst();
      if (inserted) return { tenant: tenantFromRow(inserted), created: true };
      const updated = await db
        .updateTable('tenants')
        .set({ name, metadata: JSON.stringify(metadata), updated_at: at })
        .where('account_id', '=', accountId)
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow();
      return { tenant: tenantFromRow(updated), created: false };
    },
    getTenant,
    async listTenants(accountId, { cursor, limit }) {
      // Primary key (account_id, id).
      let query = db.selectFrom('tenants').selectAll().where('account_id', '=', accountId);
      if (cursor) query = query.where('id', '>', cursor);
      const rows = await query
        .orderBy('id')
        .limit(limit + 1)
        .execute();
      const more = rows.length > limit;
      const data = (more ? rows.slice(0, limit) : rows).map(tenantFromRow);
      const page: Page<(typeof data)[number]> = {
        data,
        nextCursor: more ? (data[data.length - 1]?.id ?? null) : null,
      };
      return page;
    },
    async createPortalSession(s) {
      await db
        .insertInto('portal_sessions')
        .values({
          id: s.id,
          account_id: s.accountId,
          tenant_id: s.tenantId,
          hash: s.hash,
          read_only: s.readOnly ? 1 : 0,
          created_at: s.createdAt,
          expires_at: s.expiresAt,
        })
        .execute();
    },
    async findPortalSessionByHash(hash) {
      const row = await db.selectFrom('portal_sessions').selectAll().where('hash', '=', hash).executeTakeFirst();
      return row && portalSessionFromRow(row);
    },
    async deletePortalSessions(accountId, tenantId) {
      const result = await db
        .deleteFrom('portal_sessions')
        .where('account_id', '=', accountId)
        .where('tenant_id', '=', tenantId)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
