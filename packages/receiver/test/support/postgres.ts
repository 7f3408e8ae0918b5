import { randomBytes } from 'node:crypto';
import pg from 'pg';

const CANDIDATES = process.env.HERALD_TEST_POSTGRES_URL
  ? [process.env.HERALD_TEST_POSTGRES_URL]
  : ['postgres://postgres@127.0.0.1:5432/test', 'postgres://root@127.0.0.1:5432/test'];

/**
 * The test database's URL, or null (with a loud message) when none answers. On CI (`CI=true`)
 * an unreachable database is an error: the Postgres tests must not pass by skipping there.
 */
export async function findPostgres(): Promise<string | null> {
  for (const url of CANDIDATES) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return url;
    } catch {
      // try the next
    } finally {
      await client.end().catch(() => {});
    }
  }
  const message = `PostgreSQL is not reachable at ${CANDIDATES.join(' or ')}`;
  if (process.env.CI === 'true') throw new Error(`${message}; on CI the Postgres tests must run.`);
  console.warn(`\n!!!!!!!!!! ${message}: SKIPPING the receiver's Postgres tests !!!!!!!!!!\n`);
  return null;
}

/** A schema of its own for one test run (other test files share the database), dropped by `drop`. */
export async function testSchema(url: string): Promise<{ schema: string; drop(): Promise<void> }> {
  const schema = `recv_test_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`CREATE SCHEMA ${schema}`);
  await client.end();
  return {
    schema,
    async drop() {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    },
  };
}
