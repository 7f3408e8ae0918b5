import { ApiKeyPageSchema, CreateApiKeyBody, CreatedApiKeySchema, DeletedSchema, IdParams } from '@herald/protocol/api';
import { apiKeyRecord, generateApiKey } from '../../api-keys.js';
import { requireAdmin } from '../auth.js';
import { invalid, notFound } from '../errors.js';
import { presentApiKey } from '../present.js';
import type { Api, RouteDeps } from '../server.js';

export function apiKeyRoutes(app: Api, { store, config, auth }: RouteDeps): void {
  app.post(
    '/v1/api-keys',
    {
      schema: {
        operationId: 'createApiKey',
        tags: ['API keys'],
        summary: 'Create an API key',
        description:
          'Makes a key with the role asked for. The answer is the only time its text is shown. Needs an `admin` key.',
        body: CreateApiKeyBody,
        response: { 201: CreatedApiKeySchema },
      },
    },
    async (request, reply) => {
      const { accountId } = requireAdmin(request);
      const key = generateApiKey();
      const record = apiKeyRecord(key, accountId, request.body.role, config.clock.now());
      await store.createApiKey(record);
      // The only time the key's text is shown: only its hash is kept.
      return reply.code(201).send({ ...presentApiKey(record), key });
    },
  );

  app.get(
    '/v1/api-keys',
    {
      schema: {
        operationId: 'listApiKeys',
        tags: ['API keys'],
        summary: 'List API keys',
        description: 'The keys of the account that are not revoked, without their text. Needs an `admin` key.',
        response: { 200: ApiKeyPageSchema },
      },
    },
    async (request) => {
      const { accountId } = requireAdmin(request);
      const keys = await store.listApiKeys(accountId);
      return { data: keys.map(presentApiKey), next_cursor: null };
    },
  );

  app.delete(
    '/v1/api-keys/:id',
    {
      schema: {
        operationId: 'revokeApiKey',
        tags: ['API keys'],
        summary: 'Revoke an API key',
        description:
          'The key stops working at once in this process, and within 30 seconds in every other. The last `admin` key cannot be revoked. Needs an `admin` key.',
        params: IdParams,
        response: { 200: DeletedSchema },
      },
    },
    async (request) => {
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
      return { id, deleted: true as const };
    },
  );
}
