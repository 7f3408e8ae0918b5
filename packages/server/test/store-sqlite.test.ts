import { join } from 'node:path';
import { openSqliteStore } from '../src/store/sqlite.js';
import { storeSuite } from './store-suite.js';
import { tempDir } from './temp-dir.js';

storeSuite('SQLite', async () => {
  const tmp = tempDir('herald-store-');
  const store = openSqliteStore(join(tmp.dir, 'herald.db'));
  return {
    store,
    async cleanup() {
      await store.close();
      tmp.remove();
    },
  };
});
