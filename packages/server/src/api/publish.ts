import type { FastifyReply, FastifyRequest } from 'fastify';
import type { PublishInput, PublishResult } from '../store/types.js';
import { IDEMPOTENCY_WINDOW_MS, idempotencyKeyOf, keyReused, requestHash } from './idempotency.js';
import type { RouteDeps } from './server.js';

/**
 * The one way a route publishes (POST /v1/events, POST /v1/connections/:id/syncs): through the group
 * commit, with the request's `Idempotency-Key` checked and recorded in the same transaction. A key
 * reused with another body is a 409; a replay gets the first answer with `idempotent-replayed: true`
 * and wakes nobody. `hashed` is what makes two requests the same request (the body, and the path's
 * id where it has one).
 */
export async function publishIdempotently(
  { publisher, dispatcher }: Pick<RouteDeps, 'publisher' | 'dispatcher'>,
  request: FastifyRequest,
  reply: FastifyReply,
  input: Omit<PublishInput, 'idempotency'>,
  hashed: unknown,
): Promise<PublishResult> {
  const key = idempotencyKeyOf(request);
  const result = await publisher.submit({
    ...input,
    idempotency:
      key === undefined
        ? undefined
        : { key, requestHash: requestHash(hashed), expiresAt: input.createdAt + IDEMPOTENCY_WINDOW_MS },
  });
  if (result.idempotency === 'conflict') throw keyReused(key ?? '');
  if (result.idempotency === 'replayed') reply.header('idempotent-replayed', 'true');
  else if (!input.eventless) dispatcher?.wake(result.dueEndpoints);
  return result;
}
