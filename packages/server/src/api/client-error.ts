import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { HeraldError, newId } from '@herald/protocol';
import type { FastifyInstance } from 'fastify';

/** What each of Node's parser errors means to the client; anything else is "not HTTP". */
function messageFor(code: string | undefined): string {
  switch (code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 'The request did not arrive in time: send the headers within 10 s and the whole request within 30 s (the defaults).';
    case 'HPE_HEADER_OVERFLOW':
      return 'headers: are larger than the 16 KB this server accepts.';
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
      return 'content-length: is sent twice, or beside transfer-encoding.';
    case 'HPE_INVALID_CONTENT_LENGTH':
      return 'content-length: is not a single number.';
    case 'HPE_INVALID_TRANSFER_ENCODING':
    case 'HPE_INVALID_CHUNK_SIZE':
      return 'transfer-encoding: the body is not valid chunked encoding.';
    case 'HPE_INVALID_HEADER_TOKEN':
      return 'headers: a header name or value has a character HTTP does not allow.';
    default:
      return 'The request is not valid HTTP/1.1 (request line or headers).';
  }
}

/**
 * Fastify's clientErrorHandler: errors Node's HTTP parser raises before there is a request (a
 * malformed request line, a doubled content-length, headers over 16 KB, a client too slow to send
 * them) answered with the contract's error body and an `x-request-id`, like every other error,
 * then the connection closed: after a framing error nothing more on it can be trusted.
 */
export function answerClientError(this: FastifyInstance, error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const requestId = newId('request');
  const herald = new HeraldError('INVALID_REQUEST', messageFor(error.code));
  this.log.info({ request_id: requestId, err: error.code ?? error.message }, 'client error');
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify(herald.toBody(requestId));
  socket.end(
    `HTTP/1.1 ${herald.status} ${STATUS_CODES[herald.status]}\r\n` +
      'content-type: application/json; charset=utf-8\r\n' +
      `content-length: ${Buffer.byteLength(body)}\r\n` +
      `x-request-id: ${requestId}\r\n` +
      'connection: close\r\n\r\n' +
      body,
    () => socket.destroy(),
  );
}
