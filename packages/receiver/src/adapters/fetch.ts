import { describeError } from '../log.js';
import { errorAnswer, methodNotAllowed, type ReceiverResponse } from '../response.js';
import type { AdapterContext } from './node.js';

const toResponse = (r: ReceiverResponse) => new Response(r.body, { status: r.status, headers: r.headers });

/** Fetch API: a `Request` in, a `Response` out. Uses web-standard APIs only. */
export function fetchHandler(ctx: AdapterContext) {
  return async (request: Request): Promise<Response> => {
    if (request.method !== 'POST') return toResponse(methodNotAllowed());
    try {
      const declared = Number(request.headers.get('content-length') ?? 0);
      const body =
        declared > ctx.maxBodyBytes + 1
          ? new Uint8Array(ctx.maxBodyBytes + 1)
          : new Uint8Array(await request.arrayBuffer());
      return toResponse(await ctx.handle({ headers: request.headers, body }));
    } catch (error) {
      ctx.logger.error({ err: describeError(error) }, 'herald receiver: the route failed');
      return toResponse(errorAnswer(500, 'internal_error', 'The receiver failed; retry later.'));
    }
  };
}
