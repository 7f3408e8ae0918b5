import { describe, expect, it } from 'vitest';
import { classifyError } from './send.js';

const coded = (code: string, cause?: unknown) => Object.assign(new Error(code), { code, cause });

describe('classifying a failed request', () => {
  it.each([
    ['ECONNREFUSED', 'refused'],
    ['ECONNRESET', 'reset'],
    ['EPIPE', 'reset'],
    ['UND_ERR_SOCKET', 'reset'],
    ['UND_ERR_HEADERS_TIMEOUT', 'timeout'],
    ['UND_ERR_BODY_TIMEOUT', 'timeout'],
    ['UND_ERR_CONNECT_TIMEOUT', 'timeout'],
    ['ENOTFOUND', 'dns'],
    ['EAI_AGAIN', 'dns'],
    ['CERT_HAS_EXPIRED', 'tls'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'tls'],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'tls'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'tls'],
    ['SELF_SIGNED_CERT_IN_CHAIN', 'tls'],
    ['HERALD_BLOCKED_ADDRESS', 'blocked'],
  ])('%s is %s', (code, kind) => {
    expect(classifyError(coded(code))).toBe(kind);
  });

  it('looks through undici wrapping the socket error in `cause`', () => {
    expect(classifyError(Object.assign(new TypeError('fetch failed'), { cause: coded('ECONNREFUSED') }))).toBe(
      'refused',
    );
  });

  it('reads the first error of a happy-eyeballs AggregateError', () => {
    expect(classifyError(Object.assign(new AggregateError([coded('ECONNREFUSED'), coded('ECONNREFUSED')]), {}))).toBe(
      'refused',
    );
  });

  it('counts an error nothing names as reset', () => {
    expect(classifyError(new Error('something odd'))).toBe('reset');
  });
});
