import { afterEach, describe, expect, it } from 'vitest';
import { hashApiKey } from '../src/api-keys.js';
import { startTestHerald, type TestHerald } from './harness.js';
import { findPostgres, testSchema } from './pg-database.js';

/**
 * Two rotations of one endpoint's secret at once: each answers the secret it made, so the receiver
 * may hold either; both must still sign afterwards (the later as the secret, the earlier as the
 * previous one). A read of the current secret followed by a write lost the earlier one.
 */
const pgUrl = await findPostgres();

const stores: Array<{ name: string; db?: () => { url: string; drop(): Promise<void> } }> = [{ name: 'SQLite' }];
if (pgUrl !== null) stores.push({ name: 'PostgreSQL', db: () => testSchema(pgUrl) });
else describe.skip('secret rotations on PostgreSQL (no PostgreSQL reachable)', () => it('races', () => {}));

for (const { name, db } of stores) {
  describe(`rotating a secret twice at once (${name})`, () => {
    let h: TestHerald;
    let h2: TestHerald;
    let drop: (() => Promise<void>) | undefined;
    afterEach(async () => {
      await h2.close();
      await h.close();
      await drop?.();
    });

    it('keeps both new secrets signing: one as the secret, the other as the previous one', async () => {
      const schema = db?.();
      drop = schema?.drop;
      h = await startTestHerald(schema ? { db: schema.url, secretKey: process.env.HERALD_SECRET_KEY } : {});
      h2 = await startTestHerald({ db: h.config.db, secretKey: h.config.secretKey }, 'api');
      const endpoint = await h.request('POST', '/v1/endpoints', { url: 'http://127.0.0.1:9/hook' });
      const accountId = (await h.herald.store.findApiKeyByHash(hashApiKey(h.key)))!.accountId;
      for (let round = 0; round < 10; round++) {
        const answers = await Promise.all(
          [h, h2].map((server) => server.request('POST', `/v1/endpoints/${endpoint.body.id}/secret/rotate`)),
        );
        expect(answers.map((a) => a.status)).toEqual([200, 200]);
        const made = answers.map((a) => a.body.secret as string);
        const stored = (await h.herald.store.getEndpoint(accountId, endpoint.body.id))!;
        expect([stored.secret, stored.previousSecret].sort(), `round ${round}`).toEqual([...made].sort());
      }
    });
  });
}
