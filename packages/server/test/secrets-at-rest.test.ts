import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hashApiKey } from '../src/api-keys.js';
import { startHerald } from '../src/app.js';
import { makeConfig } from '../src/config.js';
import { createSecretBox, secretBoxFor } from '../src/store/secret-box.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import { startTestHerald, type TestHerald, tempDir } from './harness.js';
import { newEndpoint } from './store-suite.js';

describe('endpoint secrets at rest', () => {
  let h: TestHerald | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('the secret does not appear in the database file’s bytes, as text or as its decoded key', async () => {
    h = await startTestHerald();
    const created = (await h.request('POST', '/v1/endpoints', { url: 'https://example.com/hook' })).body;
    const rotated = (await h.request('POST', `/v1/endpoints/${created.id}/secret/rotate`)).body;
    expect(rotated.secret).not.toBe(created.secret);

    const db = h.config.db;
    const files = [db, `${db}-wal`].filter(existsSync);
    expect(files.length).toBeGreaterThan(0);
    const bytes = Buffer.concat(files.map((f) => readFileSync(f)));
    for (const secret of [created.secret as string, rotated.secret as string]) {
      const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
      expect(key.length).toBeGreaterThanOrEqual(24);
      expect(bytes.includes(Buffer.from(secret))).toBe(false);
      expect(bytes.includes(Buffer.from(secret.slice('whsec_'.length)))).toBe(false);
      expect(bytes.includes(key)).toBe(false);
    }
    // What is stored is the sealed form.
    const raw = openSqliteStore(db).database;
    const stored = raw.prepare('SELECT secret, previous_secret FROM endpoints WHERE id = ?').get(created.id) as {
      secret: string;
      previous_secret: string;
    };
    raw.close();
    expect(stored.secret).toMatch(/^enc:v1:[A-Za-z0-9+/=]+$/);
    expect(stored.previous_secret).toMatch(/^enc:v1:/);
    // And the API still hands out the secret as it is.
    expect((await h.request('GET', `/v1/endpoints/${created.id}/secret`)).body.secret).toBe(rotated.secret);
  });

  it('without HERALD_SECRET_KEY the key is a file beside the database, mode 0600', async () => {
    h = await startTestHerald();
    const keyFile = `${h.config.db}.key`;
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(Buffer.from(readFileSync(keyFile, 'utf8').trim(), 'base64')).toHaveLength(32);
  });

  it('a wrong or malformed key fails at start with a message naming it; PostgreSQL needs HERALD_SECRET_KEY', async () => {
    const tmp = tempDir();
    try {
      const keyA = Buffer.alloc(32, 1).toString('base64');
      const config = makeConfig({
        port: 0,
        host: '127.0.0.1',
        db: join(tmp.dir, 'herald.db'),
        logLevel: 'silent',
        bootstrapKey: 'hk_test_admin_key_0000000000000000000000000000',
        secretKey: keyA,
      });
      const first = await startHerald(config);
      await first.store.createEndpoint(
        newEndpoint({
          id: 'ep_1',
          accountId: (await first.store.findApiKeyByHash(hashApiKey(config.bootstrapKey ?? '')))!.accountId,
          url: 'https://example.com/a',
        }),
      );
      await first.close();
      // Without HERALD_SECRET_KEY the store used the env key, so no key file was written.
      expect(existsSync(`${config.db}.key`)).toBe(false);

      const wrong = Buffer.alloc(32, 2).toString('hex');
      await expect(startHerald({ ...config, secretKey: wrong })).rejects.toThrow(
        /cannot be decrypted with HERALD_SECRET_KEY/,
      );
      await expect(startHerald({ ...config, secretKey: 'not-a-key' })).rejects.toThrow(
        /^HERALD_SECRET_KEY must be 32 bytes/,
      );
      expect(() => secretBoxFor('postgres://herald@db.example/herald', undefined)).toThrow(
        /HERALD_SECRET_KEY is required with a PostgreSQL database/,
      );
      // The right key still opens it.
      const again = await startHerald(config);
      await again.close();
    } finally {
      tmp.remove();
    }
  });

  it('opens each stored secret once and keeps it: a new seal is a new entry, a tampered one still fails', () => {
    const box = createSecretBox(Buffer.alloc(32, 9));
    const first = box.seal('whsec_first');
    expect(box.open(first)).toBe('whsec_first');
    expect(box.open(first)).toBe('whsec_first');
    const rotated = box.seal('whsec_rotated');
    expect(rotated).not.toBe(first);
    expect(box.open(rotated)).toBe('whsec_rotated');
    const raw = Buffer.from(first.slice('enc:v1:'.length), 'base64');
    raw[raw.length - 1] = (raw[raw.length - 1] ?? 0) ^ 1; // the tag no longer matches
    expect(() => box.open(`enc:v1:${raw.toString('base64')}`)).toThrow(/cannot be decrypted/);
    const other = createSecretBox(Buffer.alloc(32, 8));
    expect(() => other.open(first)).toThrow(/cannot be decrypted/);
    // Past its bound it starts over, and still opens every secret right.
    const many = Array.from({ length: 10_050 }, (_, i) => [box.seal(`whsec_${i}`), `whsec_${i}`] as const);
    for (const [stored, plain] of many) expect(box.open(stored)).toBe(plain);
    expect(box.open(first)).toBe('whsec_first');
  });
});
