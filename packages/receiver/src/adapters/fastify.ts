import type { IncomingMessage } from 'node:http';
import type { AdapterContext } from './node.js';
import { readBody, respond } from './node.js';

export interface FastifyRouteOptions {
  /**
   * The route's path.
   * @default '/webhooks'
   */
  path?: string;
}

/** The part of a Fastify instance the plugin uses (so that fastify stays an optional peer). */
interface FastifyLike {
  addContentTypeParser(
    type: string,
    parser: (req: unknown, payload: IncomingMessage, done: (error: Error | null, body?: Buffer) => void) => void,
  ): void;
  removeAllContentTypeParsers(): void;
  post(
    path: string,
    handler: (
      request: { raw: IncomingMessage; body: unknown },
      reply: { code(n: number): { headers(h: Record<string, string>): { send(b: string): unknown } } },
    ) => Promise<unknown>,
  ): void;
}

/**
 * A Fastify plugin that adds `POST <path>`. Inside it (and only there: Fastify encapsulates
 * plugins) every content type is read as raw bytes, because verification needs them.
 */
export function fastifyPlugin(ctx: AdapterContext, options: FastifyRouteOptions = {}) {
  const path = options.path ?? '/webhooks';
  return async function heraldReceiver(app: FastifyLike): Promise<void> {
    if (typeof (app as Partial<FastifyLike>)?.addContentTypeParser !== 'function') {
      throw new TypeError(
        "receiver.fastify() is a plugin, not a route handler: await app.register(receiver.fastify({ path: '/webhooks' })).",
      );
    }
    app.removeAllContentTypeParsers();
    // The body is read by the same function as node:http's (not by Fastify's bodyLimit), so that a
    // body over maxBodyBytes gets the receiver's 413, in its error shape, and is counted.
    app.addContentTypeParser('*', (_req, payload, done) => {
      readBody(payload, ctx.maxBodyBytes).then((body) => done(null, body), done);
    });
    app.post(path, async (request, reply) => {
      const body = request.body instanceof Uint8Array ? request.body : Buffer.alloc(0);
      const response = await respond(ctx, request.raw, body);
      return reply.code(response.status).headers(response.headers).send(response.body);
    });
  };
}
