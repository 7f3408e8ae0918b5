import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log.js';
import { describeError } from '../log.js';
import { errorAnswer, methodNotAllowed, type ReceiverRequest, type ReceiverResponse } from '../response.js';

export type Handle = (request: ReceiverRequest) => Promise<ReceiverResponse>;

export interface AdapterContext {
  handle: Handle;
  maxBodyBytes: number;
  logger: Logger;
}

/**
 * The raw body, at most `limit + 1` bytes: a longer one is cut there (and the rest drained), so that
 * the route answers 413 and counts it.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      if (size > limit) return;
      chunks.push(chunk);
      size += chunk.length;
    });
    req.on('end', () => {
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
      resolve(body.length > limit + 1 ? body.subarray(0, limit + 1) : body);
    });
    req.on('error', reject);
  });
}

export function send(res: ServerResponse, response: ReceiverResponse): void {
  res.writeHead(response.status, response.headers);
  res.end(response.body);
}

export async function respond(
  ctx: AdapterContext,
  req: IncomingMessage,
  body: Uint8Array | string,
): Promise<ReceiverResponse> {
  try {
    return await ctx.handle({ headers: req.headers, body });
  } catch (error) {
    ctx.logger.error({ err: describeError(error) }, 'herald receiver: the route failed');
    return errorAnswer(500, 'internal_error', 'The receiver failed; retry later.');
  }
}

/** A node:http request listener that answers every path (mount it on a server or route of its own). */
export function nodeHandler(ctx: AdapterContext) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method !== 'POST') {
      req.resume();
      send(res, methodNotAllowed());
      return;
    }
    readBody(req, ctx.maxBodyBytes)
      .then((body) => respond(ctx, req, body))
      .then(
        (response) => send(res, response),
        () => res.destroy(),
      );
  };
}
