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
    const keys = await store.listApiKeys(accountId);
    const key = keys.find((k) => k.id === request.params.id);
    if (!key) throw notFound('API key', request.params.id);
    // Without an admin key an account could never be managed again.
    if (key.role === 'admin' && keys.filter((k) => k.role === 'admin').length === 1) {
      throw invalid('id', 'is the last admin key of this account; create another admin key before revoking it.');
    }
    if (!(await store.revokeApiKey(accountId, key.id, config.clock.now()))) throw notFound('API key', key.id);
    auth.forget(key.id);
    return { id: key.id, deleted: true };
  });
}
