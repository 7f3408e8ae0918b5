import { describeError } from '../log.js';
import { errorAnswer, methodNotAllowed, type ReceiverResponse } from '../response.js';
import type { AdapterContext } from './node.js';

const toResponse = (r: ReceiverResponse) => new Response(r.body, { status: r.status, headers: r.headers });

/**
 * The body, at most `limit + 1` bytes: read chunk by chunk and cut there (the rest is cancelled),
 * so that a body without content-length (chunked) is never held whole in memory, and the route
 * answers 413 and counts it.
 */
export async function readLimited(request: Request, limit: number): Promise<Uint8Array> {
  const declared = Number(request.headers.get('content-length') ?? 0);
  if (declared > limit + 1 || request.body === null) {
    await request.body?.cancel().catch(() => {});
    return new Uint8Array(request.body === null ? 0 : limit + 1);
  }
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      break;
    }
  }
  const body = new Uint8Array(Math.min(size, limit + 1));
  let offset = 0;
  for (const chunk of chunks) {
    const part = chunk.subarray(0, body.byteLength - offset);
    body.set(part, offset);
    offset += part.byteLength;
  }
  return body;
}

/** Fetch API: a `Request` in, a `Response` out. Uses web-standard APIs only. */
export function fetchHandler(ctx: AdapterContext) {
  return async (request: Request): Promise<Response> => {
    if (request.method !== 'POST') return toResponse(methodNotAllowed());
    try {
      const body = await readLimited(request, ctx.maxBodyBytes);
      return toResponse(await ctx.handle({ headers: request.headers, body }));
    } catch (error) {
      ctx.logger.error({ err: describeError(error) }, 'herald receiver: the route failed');
      return toResponse(errorAnswer(500, 'internal_error', 'The receiver failed; retry later.'));
    }
  };
}
