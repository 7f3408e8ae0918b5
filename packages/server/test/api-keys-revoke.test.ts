import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SqliteStore } from '../src/store/sqlite.js';
import { startTestHerald, type TestHerald } from './harness.js';
import { findPostgres, testSchema } from './pg-database.js';

/**
 * The last admin key of an account cannot be revoked, also when two revocations race: the check and
 * the revocation are one atomic store write, not a read in the route followed by a write.
 */
const pgUrl = await findPostgres();

const stores: Array<{ name: string; db?: () => { url: string; drop(): Promise<void> } }> = [{ name: 'SQLite' }];
if (pgUrl !== null) stores.push({ name: 'PostgreSQL', db: () => testSchema(pgUrl) });
else describe.skip('revocations on PostgreSQL (no PostgreSQL reachable)', () => it('races', () => {}));

const ROUNDS = 20;

for (const { name, db } of stores) {
  describe(`revoking admin keys at once (${name})`, () => {
    let h: TestHerald;
    let h2: TestHerald;
    let drop: (() => Promise<void>) | undefined;
    afterEach(async () => {
      await h2.close();
      await h.close();
      await drop?.();
    });

    it('always leaves the account one admin key when its two admin keys are revoked at once', async () => {
      const schema = db?.();
      drop = schema?.drop;
      h = await startTestHerald(schema ? { db: schema.url, secretKey: process.env.HERALD_SECRET_KEY } : {});
      // A second server on the same database: each revocation goes to another one, as behind a balancer.
      h2 = await startTestHerald({ db: h.config.db, secretKey: h.config.secretKey }, 'api');
      const servers = [h, h2];
      let survivor = { id: (await h.request('GET', '/v1/api-keys')).body.data[0].id as string, key: h.key };
      for (let round = 0; round < ROUNDS; round++) {
        const made = await h.request('POST', '/v1/api-keys', { role: 'admin' }, { key: survivor.key });
        expect(made.status).toBe(201);
        const pair = [survivor, { id: made.body.id as string, key: made.body.key as string }];
        const answers = await Promise.all(
          pair.map((k, i) => servers[i]!.request('DELETE', `/v1/api-keys/${k.id}`, undefined, { key: k.key })),
        );
        expect(answers.map((a) => a.status).sort(), `round ${round}`).toEqual([200, 400]);
        const refused = answers.findIndex((a) => a.status === 400);
        expect(answers[refused]!.body.error.message).toMatch(/last admin key/);
        survivor = pair[refused]!;
        const left = await h.request('GET', '/v1/api-keys', undefined, { key: survivor.key });
        expect(left.body.data.map((k: { id: string }) => k.id)).toEqual([survivor.id]);
      }
    });
  });
}

describe('a restart with HERALD_BOOTSTRAP_KEY after every admin key was revoked', () => {
  it('gives the locked-out account an admin key again', async () => {
    const h = await startTestHerald();
    const endpoint = await h.request('POST', '/v1/endpoints', { url: 'http://127.0.0.1:9/hook' });
    expect(endpoint.status).toBe(201);
    // The state the racing revocations once left behind: no active admin key at all.
    (h.herald.store as SqliteStore).database.prepare('UPDATE api_keys SET revoked_at = 1').run();
    await h.herald.close();

    const bootstrapKey = `hk_recovery_${'0'.repeat(40)}`;
    const again = await startTestHerald({ db: h.config.db, bootstrapKey });
    try {
      const listed = await again.request('GET', '/v1/endpoints', undefined, { key: bootstrapKey });
      expect(listed.status).toBe(200);
      expect(listed.body.data.map((e: { id: string }) => e.id)).toEqual([endpoint.body.id]);
      // The old key stays revoked.
      expect((await again.request('GET', '/v1/endpoints')).status).toBe(401);
    } finally {
      await again.close();
      rmSync(dirname(h.config.db), { recursive: true, force: true });
    }
  });
});
