import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  generateSecret,
  type HeaderSource,
  isValidSecret,
  readHeader,
  signatureHeaders,
  signPlain,
  signStandard,
  verifyPlain,
  verifyStandard,
  WebhookVerificationError,
} from './signature.js';

// The reference vector of the Standard Webhooks specification, shared by every library that implements it.
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const ID = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
const TIMESTAMP = 1614265330;
const BODY = '{"test": 2432232314}';
const SIGNATURE = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';
const SIGNATURE_BASE64 = SIGNATURE.slice('v1,'.length);

const AT_TIMESTAMP = { nowSeconds: TIMESTAMP };

function referenceHeaders(signature: string = SIGNATURE): Record<string, string> {
  return { 'webhook-id': ID, 'webhook-timestamp': String(TIMESTAMP), 'webhook-signature': signature };
}

/** Runs a verification that must fail, and returns its error after checking it gives nothing away. */
function rejection(verify: () => unknown): WebhookVerificationError {
  try {
    verify();
  } catch (error) {
    if (!(error instanceof WebhookVerificationError)) throw error;
    expect(error.message).not.toContain(SIGNATURE_BASE64);
    expect(error.name).toBe('WebhookVerificationError');
    return error;
  }
  throw new Error('The webhook verified, but it should have been rejected.');
}

describe('Standard Webhooks: the reference vector', () => {
  it('signs the reference message exactly as the specification does', () => {
    expect(signStandard(SECRET, ID, TIMESTAMP, BODY)).toBe(SIGNATURE);
  });

  it('signs the same whether the body is given as text or as its bytes', () => {
    expect(signStandard(SECRET, ID, TIMESTAMP, new TextEncoder().encode(BODY))).toBe(SIGNATURE);
  });

  it('verifies the reference message at its own timestamp and returns its id and timestamp', () => {
    expect(verifyStandard(SECRET, referenceHeaders(), BODY, AT_TIMESTAMP)).toEqual({ id: ID, timestamp: TIMESTAMP });
  });
});

describe('Standard Webhooks: which signatures count', () => {
  it('accepts a header where bogus signatures stand beside the valid one', () => {
    const header = [
      'v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=',
      `v2,${SIGNATURE_BASE64}`,
      SIGNATURE,
      `v1a,${SIGNATURE_BASE64}`,
    ].join(' ');
    expect(verifyStandard(SECRET, referenceHeaders(header), BODY, AT_TIMESTAMP).id).toBe(ID);
  });

  it('rejects a header where every signature is bogus', () => {
    const header =
      'v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v1,bm90IHRoZSBzaWduYXR1cmUgeW91IGFyZSBsb29raW5nIGZvcg==';
    const error = rejection(() => verifyStandard(SECRET, referenceHeaders(header), BODY, AT_TIMESTAMP));
    expect(error.reason).toBe('no_matching_signature');
  });

  it('rejects an empty v1 signature', () => {
    const error = rejection(() => verifyStandard(SECRET, referenceHeaders('v1,'), BODY, AT_TIMESTAMP));
    expect(error.reason).toBe('no_matching_signature');
  });

  it('rejects a signature cut short, by one character or by half', () => {
    for (const truncated of [SIGNATURE.slice(0, -1), SIGNATURE.slice(0, 20)]) {
      const error = rejection(() => verifyStandard(SECRET, referenceHeaders(truncated), BODY, AT_TIMESTAMP));
      expect(error.reason).toBe('no_matching_signature');
    }
  });

  it('ignores a correct signature that carries another version prefix', () => {
    for (const other of [`v2,${SIGNATURE_BASE64}`, `v1a,${SIGNATURE_BASE64}`, SIGNATURE_BASE64]) {
      const error = rejection(() => verifyStandard(SECRET, referenceHeaders(other), BODY, AT_TIMESTAMP));
      expect(error.reason).toBe('no_matching_signature');
    }
  });

  it('rejects a body changed by one digit', () => {
    const error = rejection(() => verifyStandard(SECRET, referenceHeaders(), '{"test": 2432232315}', AT_TIMESTAMP));
    expect(error.reason).toBe('no_matching_signature');
  });

  it('rejects a signature replayed under another message id', () => {
    const headers = { ...referenceHeaders(), 'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJel' };
    const error = rejection(() => verifyStandard(SECRET, headers, BODY, AT_TIMESTAMP));
    expect(error.reason).toBe('no_matching_signature');
  });

  it('rejects a signature replayed under a fresher timestamp', () => {
    const headers = { ...referenceHeaders(), 'webhook-timestamp': String(TIMESTAMP + 60) };
    const error = rejection(() => verifyStandard(SECRET, headers, BODY, AT_TIMESTAMP));
    expect(error.reason).toBe('no_matching_signature');
  });

  it('rejects the right signature checked with the wrong secret', () => {
    const error = rejection(() => verifyStandard(generateSecret(), referenceHeaders(), BODY, AT_TIMESTAMP));
    expect(error.reason).toBe('no_matching_signature');
  });
});

describe('Standard Webhooks: headers', () => {
  it.each(['webhook-id', 'webhook-timestamp', 'webhook-signature'])(
    'rejects a request without %s, naming it',
    (name) => {
      const headers: Record<string, string> = referenceHeaders();
      delete headers[name];
      const error = rejection(() => verifyStandard(SECRET, headers, BODY, AT_TIMESTAMP));
      expect(error.reason).toBe('missing_header');
      expect(error.message).toContain(name);
    },
  );

  it('treats an empty header like a missing one', () => {
    const headers = { ...referenceHeaders(), 'webhook-id': '' };
    const error = rejection(() => verifyStandard(SECRET, headers, BODY, AT_TIMESTAMP));
    expect(error.reason).toBe('missing_header');
    expect(error.message).toContain('webhook-id');
  });

  it.each(['yesterday', '1614265330a', '-1614265330', '1614265330.5', '0x60374b72'])(
    'rejects the non-numeric timestamp %j',
    (timestamp) => {
      const headers = { ...referenceHeaders(), 'webhook-timestamp': timestamp };
      const error = rejection(() => verifyStandard(SECRET, headers, BODY, AT_TIMESTAMP));
      expect(error.reason).toBe('invalid_timestamp');
    },
  );

  it('reads headers from a fetch Headers, a Node header record, or a record with capitalised names', () => {
    const sources: HeaderSource[] = [
      new Headers(referenceHeaders()),
      referenceHeaders(),
      { 'Webhook-Id': ID, 'Webhook-Timestamp': String(TIMESTAMP), 'Webhook-Signature': SIGNATURE },
    ];
    for (const headers of sources) expect(verifyStandard(SECRET, headers, BODY, AT_TIMESTAMP).id).toBe(ID);
  });

  it('joins a header Node gives as an array, so each signature in it is tried', () => {
    expect(readHeader({ 'webhook-signature': ['v1,bogus', SIGNATURE] }, 'webhook-signature')).toBe(
      `v1,bogus ${SIGNATURE}`,
    );
  });
});

describe('Standard Webhooks: the 5-minute tolerance', () => {
  it('accepts a timestamp exactly 300 s old or 300 s ahead', () => {
    expect(verifyStandard(SECRET, referenceHeaders(), BODY, { nowSeconds: TIMESTAMP + 300 }).id).toBe(ID);
    expect(verifyStandard(SECRET, referenceHeaders(), BODY, { nowSeconds: TIMESTAMP - 300 }).id).toBe(ID);
  });

  it('rejects a correctly signed timestamp 301 s old as too old', () => {
    const error = rejection(() => verifyStandard(SECRET, referenceHeaders(), BODY, { nowSeconds: TIMESTAMP + 301 }));
    expect(error.reason).toBe('timestamp_too_old');
  });

  it('rejects a correctly signed timestamp 301 s ahead as too new', () => {
    const error = rejection(() => verifyStandard(SECRET, referenceHeaders(), BODY, { nowSeconds: TIMESTAMP - 301 }));
    expect(error.reason).toBe('timestamp_too_new');
  });

  it('lets a receiver choose its own tolerance', () => {
    const options = { nowSeconds: TIMESTAMP + 600, toleranceSeconds: 600 };
    expect(verifyStandard(SECRET, referenceHeaders(), BODY, options).id).toBe(ID);
    const error = rejection(() =>
      verifyStandard(SECRET, referenceHeaders(), BODY, { ...options, nowSeconds: TIMESTAMP + 601 }),
    );
    expect(error.reason).toBe('timestamp_too_old');
  });

  it('uses the real clock when no time is given, so the 2021 reference message is long expired', () => {
    const error = rejection(() => verifyStandard(SECRET, referenceHeaders(), BODY));
    expect(error.reason).toBe('timestamp_too_old');
  });
});

describe('Standard Webhooks: secrets', () => {
  it('verifies the same with or without the whsec_ prefix', () => {
    const bare = SECRET.slice('whsec_'.length);
    expect(signStandard(bare, ID, TIMESTAMP, BODY)).toBe(SIGNATURE);
    expect(verifyStandard(bare, referenceHeaders(), BODY, AT_TIMESTAMP).id).toBe(ID);
  });

  it('during a rotation, a request signed with either the old or the new secret verifies', () => {
    const oldSecret = SECRET;
    const newSecret = generateSecret();
    const signedWithNew = signStandard(newSecret, ID, TIMESTAMP, BODY);
    for (const signature of [SIGNATURE, signedWithNew]) {
      expect(verifyStandard([newSecret, oldSecret], referenceHeaders(signature), BODY, AT_TIMESTAMP).id).toBe(ID);
      expect(verifyStandard([oldSecret, newSecret], referenceHeaders(signature), BODY, AT_TIMESTAMP).id).toBe(ID);
    }
  });

  it('a sender signing with both secrets during a rotation satisfies a receiver that knows only one', () => {
    const newSecret = generateSecret();
    const headers = signatureHeaders({
      scheme: 'standard-webhooks',
      secrets: [newSecret, SECRET],
      id: ID,
      timestamp: TIMESTAMP,
      body: BODY,
    });
    expect(headers['webhook-signature']?.split(' ')).toEqual([signStandard(newSecret, ID, TIMESTAMP, BODY), SIGNATURE]);
    expect(verifyStandard(SECRET, headers, BODY, AT_TIMESTAMP).id).toBe(ID);
    expect(verifyStandard(newSecret, headers, BODY, AT_TIMESTAMP).id).toBe(ID);
  });

  it('rejects a secret that is not base64 as invalid_secret', () => {
    const error = rejection(() => verifyStandard('whsec_not base64!', referenceHeaders(), BODY, AT_TIMESTAMP));
    expect(error.reason).toBe('invalid_secret');
    expect(isValidSecret('whsec_not base64!')).toBe(false);
    expect(isValidSecret('whsec_')).toBe(false);
  });

  it('generates whsec_ secrets of 24 to 64 random bytes, 32 by default', () => {
    const secret = generateSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+={0,2}$/);
    expect(Buffer.from(secret.slice('whsec_'.length), 'base64')).toHaveLength(32);
    expect(Buffer.from(generateSecret(24).slice(6), 'base64')).toHaveLength(24);
    expect(Buffer.from(generateSecret(64).slice(6), 'base64')).toHaveLength(64);
    expect(generateSecret()).not.toBe(secret);
    expect(isValidSecret(secret)).toBe(true);
  });

  it('refuses to generate a secret shorter than 24 or longer than 64 bytes', () => {
    expect(() => generateSecret(23)).toThrow(RangeError);
    expect(() => generateSecret(65)).toThrow(RangeError);
    expect(isValidSecret(`whsec_${Buffer.alloc(16).toString('base64')}`)).toBe(false);
  });
});

describe('Standard Webhooks: bodies are signed as raw bytes', () => {
  it('verifies a body that is not valid UTF-8', () => {
    const body = new Uint8Array([0xff, 0xfe, 0x00, 0x80, 0xc3, 0x28]);
    const headers = { ...referenceHeaders(signStandard(SECRET, ID, TIMESTAMP, body)) };
    expect(verifyStandard(SECRET, headers, body, AT_TIMESTAMP).id).toBe(ID);
    // Decoding those bytes to text would replace them with U+FFFD and break the signature.
    const decoded = Buffer.from(body).toString('utf8');
    expect(rejection(() => verifyStandard(SECRET, headers, decoded, AT_TIMESTAMP)).reason).toBe(
      'no_matching_signature',
    );
  });

  it('signs only the bytes a Uint8Array view covers, not the whole buffer behind it', () => {
    const whole = new TextEncoder().encode(`xx${BODY}yy`);
    expect(signStandard(SECRET, ID, TIMESTAMP, whole.subarray(2, 2 + BODY.length))).toBe(SIGNATURE);
  });
});

describe('the plain hmac-sha256 scheme', () => {
  const key = Buffer.from(SECRET.slice('whsec_'.length), 'base64');
  const expected = `sha256=${createHmac('sha256', key).update(BODY).digest('hex')}`;

  it('signs sha256=<hex HMAC-SHA256> of the body alone, keyed with the decoded secret', () => {
    expect(signPlain(SECRET, BODY)).toBe(expected);
    expect(signPlain(SECRET, new TextEncoder().encode(BODY))).toBe(expected);
    expect(signPlain(SECRET.slice('whsec_'.length), BODY)).toBe(expected);
  });

  it('verifies its own signature, also beside another one, and rejects a tampered body', () => {
    verifyPlain(SECRET, { 'x-herald-signature': expected }, BODY);
    verifyPlain(SECRET, { 'x-herald-signature': `sha256=00ff ${expected}` }, BODY);
    const error = rejection(() => verifyPlain(SECRET, { 'x-herald-signature': expected }, '{"test": 1}'));
    expect(error.reason).toBe('no_matching_signature');
    expect(error.message).not.toContain(expected.slice('sha256='.length));
  });

  it('rejects a hex signature without its sha256= prefix, and one in upper case', () => {
    const hex = expected.slice('sha256='.length);
    for (const given of [hex, `sha256=${hex.toUpperCase()}`]) {
      expect(rejection(() => verifyPlain(SECRET, { 'x-herald-signature': given }, BODY)).reason).toBe(
        'no_matching_signature',
      );
    }
  });

  it('rejects a request without x-herald-signature, naming it', () => {
    const error = rejection(() => verifyPlain(SECRET, {}, BODY));
    expect(error.reason).toBe('missing_header');
    expect(error.message).toContain('x-herald-signature');
  });

  it('accepts either secret during a rotation', () => {
    const newSecret = generateSecret();
    verifyPlain([newSecret, SECRET], { 'x-herald-signature': expected }, BODY);
    verifyPlain([SECRET, newSecret], { 'x-herald-signature': signPlain(newSecret, BODY) }, BODY);
  });
});

describe('signatureHeaders', () => {
  const input = { secrets: [SECRET], id: ID, timestamp: TIMESTAMP, body: BODY };

  it('gives a Standard Webhooks endpoint webhook-id, webhook-timestamp and webhook-signature', () => {
    expect(signatureHeaders({ ...input, scheme: 'standard-webhooks' })).toEqual({
      'webhook-id': ID,
      'webhook-timestamp': '1614265330',
      'webhook-signature': SIGNATURE,
    });
  });

  it('gives a plain-scheme endpoint x-herald-signature instead of webhook-signature', () => {
    const headers = signatureHeaders({ ...input, scheme: 'hmac-sha256' });
    expect(headers).toEqual({
      'webhook-id': ID,
      'webhook-timestamp': '1614265330',
      'x-herald-signature': signPlain(SECRET, BODY),
    });
    verifyPlain(SECRET, headers, BODY);
  });
});

describe('Herald and the standardwebhooks library agree', () => {
  // standardwebhooks reads Date.now() when it verifies; pin it to each generated timestamp.
  beforeAll(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
  });
  afterAll(() => {
    vi.useRealTimers();
  });

  const secrets = fc
    .tuple(fc.integer({ min: 24, max: 64 }), fc.boolean())
    .map(([bytes, bare]) => (bare ? generateSecret(bytes).slice('whsec_'.length) : generateSecret(bytes)));
  const ids = fc.string({ unit: 'binary', minLength: 1, maxLength: 40 });
  const timestamps = fc.integer({ min: 0, max: 4_102_444_800 });

  function headersFor(id: string, timestamp: number, signature: string): Record<string, string> {
    return { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signature };
  }

  it('on any text body, in both directions', () => {
    fc.assert(
      fc.property(secrets, ids, timestamps, fc.string({ unit: 'binary', maxLength: 200 }), (secret, id, ts, body) => {
        vi.setSystemTime(ts * 1000);
        const ours = signStandard(secret, id, ts, body);
        expect(() => new Webhook(secret).verify(body, headersFor(id, ts, ours), { jsonParse: false })).not.toThrow();

        const theirs = new Webhook(secret).sign(id, new Date(ts * 1000), body);
        expect(verifyStandard(secret, headersFor(id, ts, theirs), body, { nowSeconds: ts })).toEqual({
          id,
          timestamp: ts,
        });
      }),
      { numRuns: 200 },
    );
  });

  // standardwebhooks 1.x refuses a plain Uint8Array and turns a Buffer into text (payload.toString(), so invalid
  // UTF-8 becomes U+FFFD) before it signs or verifies. Neither direction can therefore agree with an HMAC of raw
  // bytes that are not valid UTF-8. We cross-check both directions on bytes that are valid UTF-8, and on the rest
  // check that standardwebhooks' signature is Herald's signature of the replaced text, while Herald signs and
  // verifies the raw bytes themselves (checked against node:crypto).
  it('on any byte body: both directions where the bytes are UTF-8; raw bytes verify in Herald always', () => {
    const bodies = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc.string({ unit: 'grapheme', maxLength: 100 }).map((text) => new Uint8Array(Buffer.from(text, 'utf8'))),
    );
    let utf8 = 0;
    let notUtf8 = 0;
    fc.assert(
      fc.property(secrets, ids, timestamps, bodies, (secret, id, ts, body) => {
        vi.setSystemTime(ts * 1000);
        const asText = Buffer.from(body).toString('utf8');
        const isUtf8 = Buffer.from(asText, 'utf8').equals(body);
        if (isUtf8) utf8++;
        else notUtf8++;

        const ours = signStandard(secret, id, ts, body);
        const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
        const reference = createHmac('sha256', key)
          .update(Buffer.concat([Buffer.from(`${id}.${ts}.`, 'utf8'), body]))
          .digest('base64');
        expect(ours).toBe(`v1,${reference}`);
        expect(verifyStandard(secret, headersFor(id, ts, ours), body, { nowSeconds: ts }).id).toBe(id);

        const theirs = new Webhook(secret).sign(id, new Date(ts * 1000), Buffer.from(body));
        expect(theirs).toBe(signStandard(secret, id, ts, asText));
        if (isUtf8) {
          expect(theirs).toBe(ours);
          expect(verifyStandard(secret, headersFor(id, ts, theirs), body, { nowSeconds: ts }).id).toBe(id);
          const verify = () =>
            new Webhook(secret).verify(Buffer.from(body), headersFor(id, ts, ours), { jsonParse: false });
          expect(verify).not.toThrow();
        }
      }),
      { numRuns: 200 },
    );
    // Both kinds of body were really tried.
    expect(utf8).toBeGreaterThan(20);
    expect(notUtf8).toBeGreaterThan(20);
  });
});
