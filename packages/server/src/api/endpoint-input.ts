import { isIP } from 'node:net';
import { isValidSecret } from '@herald/protocol';
import type { PatchEndpointBody } from '@herald/protocol/api';
import type { Static } from 'typebox';
import type { Config } from '../config.js';
import { isBlockedAddress } from '../dispatch/address-guard.js';
import { customHeaderProblem } from '../dispatch/custom-headers.js';
import type { EndpointPatch } from '../store/types.js';
import { invalid } from './errors.js';

/**
 * What the schema cannot say about an endpoint: the URL's scheme and host, the secret's bytes, and
 * custom headers that must not break or forge a request. Each failure is a 400 naming the field.
 */

/**
 * An endpoint URL: http(s), and unless private networks are allowed, https to a host that is not
 * literally loopback, private or link-local. A host *name* that resolves to such an address is
 * caught later, at connect time, by the dispatcher's guard. The URL is kept as it was written.
 */
export function checkEndpointUrl(text: string, config: Config): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid('url', 'must be an absolute http(s) URL.');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalid('url', 'must use https (or http).');
  if (config.allowPrivateNetworks) return text;
  if (url.protocol !== 'https:') {
    throw invalid('url', 'must use https; http is allowed only with --allow-private-networks.');
  }
  // WHATWG URL has already turned 0x7f.1 and 2130706433 into 127.0.0.1, and wraps IPv6 in [].
  const host = url.hostname
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '')
    .toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) {
    throw invalid('url', 'must not point at localhost; that needs --allow-private-networks.');
  }
  if (isIP(host) !== 0 && isBlockedAddress(host)) {
    throw invalid('url', `must not point at a loopback, private or link-local address (${host}).`);
  }
  return text;
}

export function checkSecret(secret: string): string {
  if (!isValidSecret(secret) || !secret.startsWith('whsec_')) {
    throw invalid('secret', 'must be `whsec_` followed by the base64 of 24 to 64 bytes.');
  }
  return secret;
}

export function checkHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const problem = customHeaderProblem(name, value);
    if (problem !== undefined) throw invalid(`headers.${name}`, problem);
    out[name.toLowerCase()] = value;
  }
  return out;
}

/** A PATCH body → the store's patch, every field checked. */
export function endpointPatch(body: Static<typeof PatchEndpointBody>, config: Config): EndpointPatch {
  const patch: EndpointPatch = {};
  if (body.url !== undefined) patch.url = checkEndpointUrl(body.url, config);
  if (body.description !== undefined) patch.description = body.description;
  if (body.event_types !== undefined) patch.eventTypes = [...new Set(body.event_types)];
  if (body.connection_ids !== undefined) patch.connectionIds = [...new Set(body.connection_ids)];
  if (body.signature_scheme !== undefined) patch.signatureScheme = body.signature_scheme;
  if (body.headers !== undefined) patch.headers = checkHeaders(body.headers);
  if (body.rate_limit_per_s !== undefined) patch.rateLimitPerS = body.rate_limit_per_s;
  if (body.disabled !== undefined) {
    patch.disabled = body.disabled;
    patch.disabledReason = body.disabled ? 'disabled through the API' : null;
  }
  return patch;
}
