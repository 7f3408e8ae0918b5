import { apiKeyRecord, generateApiKey } from '../../api-keys.js';
import { requireAdmin } from '../auth.js';
import { invalid, notFound } from '../errors.js';
import { presentApiKey } from '../present.js';
import { CreateApiKeyBody, IdParams } from '../schemas.js';
import type { Api, RouteDeps } from '../server.js';

export function apiKeyRoutes(app: Api, { store, config, auth }: RouteDeps): void {
  app.post('/v1/api-keys', { schema: { body: CreateApiKeyBody } }, async (request, reply) => {
    const { accountId } = requireAdmin(request);
    const key = generateApiKey();
    const record = apiKeyRecord(key, accountId, request.body.role, config.clock.now());
    await store.createApiKey(record);
    // The only time the key's text is shown: only its hash is kept.
    return reply.code(201).send({ ...presentApiKey(record), key });
  });

  app.get('/v1/api-keys', async (request) => {
    const { accountId } = requireAdmin(request);
    const keys = await store.listApiKeys(accountId);
    return { data: keys.map(presentApiKey), next_cursor: null };
  });

  app.delete('/v1/api-keys/:id', { schema: { params: IdParams } }, async (request) => {
    const { accountId } = requireAdmin(request);
    const { id } = request.params;
    // Without an admin key an account could never be managed again: the store checks and revokes
    // in one step, so two revocations at once cannot both pass the check.
    const result = await store.revokeApiKey(accountId, id, config.clock.now());
    if (result === 'not_found') throw notFound('API key', id);
    if (result === 'last_admin') {
      throw invalid('id', 'is the last admin key of this account; create another admin key before revoking it.');
    }
    auth.forget(id);
    return { id, deleted: true };
  });
}
