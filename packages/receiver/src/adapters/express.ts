import type { IncomingMessage, ServerResponse } from 'node:http';
import { RawBodyError } from '../response.js';
import { type AdapterContext, readBody, respond, send } from './node.js';

type Next = (error?: unknown) => void;

/**
 * An Express route handler. It reads the body itself, so mount it before `express.json()`, or on a
 * route where `express.raw({ type: '*\/*' })` hands it the bytes. A body that a parser has already
 * turned into an object cannot be verified (its bytes are gone): that is an error passed to `next`,
 * with the fix in its message, never a silent 401.
 */
export function expressHandler(ctx: AdapterContext) {
  return (req: IncomingMessage & { body?: unknown; rawBody?: unknown }, res: ServerResponse, next: Next): void => {
    if (req.method !== 'POST') {
      next();
      return;
    }
    const given = req.rawBody ?? req.body;
    let body: Promise<Uint8Array | string>;
    if (given instanceof Uint8Array || typeof given === 'string') {
      body = Promise.resolve(given);
    } else if (req.readableEnded || (req as { _body?: boolean })._body === true) {
      next(
        new RawBodyError(
          'herald receiver: the request body was already parsed (express.json() or similar ran first), so its raw ' +
            "bytes cannot be verified. Mount receiver.express() before body parsers, e.g. app.post('/webhooks', " +
            "receiver.express()) above app.use(express.json()), or give the route express.raw({ type: '*/*' }).",
        ),
      );
      return;
    } else {
      body = readBody(req, ctx.maxBodyBytes);
    }
    body.then((b) => respond(ctx, req, b)).then((response) => send(res, response), next);
  };
}
