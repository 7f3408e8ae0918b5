/**
 * The one rule for an endpoint's custom headers, used by the API (refuses a bad one with a 400) and
 * by the sender (skips one that reached the store some other way), so the two cannot drift apart.
 */

/** Headers Herald sets itself, and hop-by-hop headers that belong to the connection, not the webhook. */
const RESERVED = new Set([
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
  'x-herald-signature',
  'content-type',
  'content-length',
  'user-agent',
  'host',
  'connection',
  'transfer-encoding',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'expect',
  'proxy-connection',
]);

/** RFC 9110 token: the characters a header name may have. */
const NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Tab, visible ASCII and visible Latin-1: what an HTTP/1.1 client sends as it is. Control
 * characters (CR/LF would start a new header) and anything above U+00FF are refused: undici
 * throws on them, so such a header would never be sent.
 */
const VALUE = /^[\t\x20-\x7e\xa0-\xff]*$/;

/** Why an endpoint may not have this custom header, or undefined when it may. */
export function customHeaderProblem(name: string, value: string): string | undefined {
  if (!NAME.test(name)) return 'is not a valid header name.';
  if (RESERVED.has(name.toLowerCase())) return 'is set by Herald and cannot be overridden.';
  if (!VALUE.test(value)) {
    return 'must be tab, visible ASCII or Latin-1 characters only (no control characters, nothing above U+00FF).';
  }
  return undefined;
}
