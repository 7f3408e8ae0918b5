import { describe, it } from 'vitest';
import { openPostgresStore } from '../src/store/postgres.js';
import { findPostgres, testSchema } from './pg-database.js';
import { storeSuite } from './store-suite.js';

const pgUrl = await findPostgres();

if (pgUrl === null) {
  describe.skip('PostgreSQL store (no PostgreSQL reachable)', () => it('runs the shared suite', () => {}));
} else {
  storeSuite('PostgreSQL', async () => {
    const schema = testSchema(pgUrl);
    const store = await openPostgresStore(schema.url);
    return {
      store,
      async cleanup() {
        await store.close();
        await schema.drop();
      },
    };
  });
}
