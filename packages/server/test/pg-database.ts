import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * Every process on one PostgreSQL database seals endpoint secrets under the same HERALD_SECRET_KEY;
 * the tests' processes (spawned with this environment) share this one.
 */
process.env.HERALD_SECRET_KEY ??= Buffer.alloc(32, 7).toString('base64');

const CANDIDATES = process.env.HERALD_TEST_POSTGRES_URL
  ? [process.env.HERALD_TEST_POSTGRES_URL]
  : ['postgres://postgres@127.0.0.1:5432/test', 'postgres://root@127.0.0.1:5432/test'];

/**
 * The test database's URL, or null (with a loud message) when none answers. On CI (`CI=true`) an
 * unreachable database is an error: the PostgreSQL tests must not pass by skipping there.
 */
export async function findPostgres(): Promise<string | null> {
  for (const url of CANDIDATES) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    client.on('error', () => {});
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
  if (process.env.CI === 'true') throw new Error(`${message}; on CI the PostgreSQL tests must run.`);
  console.warn(`\n!!!!!!!!!! ${message}: SKIPPING the server's PostgreSQL tests !!!!!!!!!!\n`);
  return null;
}

/**
 * A schema of its own in the shared test database (test files run side by side), as a `--db` URL
 * (`?schema=`); `drop` removes it and everything in it.
 */
export function testSchema(
  baseUrl: string,
  prefix = 'herald_test',
): { url: string; schema: string; drop(): Promise<void> } {
  const schema = `${prefix}_${randomBytes(6).toString('hex')}`;
  const url = new URL(baseUrl);
  url.searchParams.set('schema', schema);
  return {
    url: url.toString(),
    schema,
    async drop() {
      const client = new pg.Client({ connectionString: baseUrl });
      client.on('error', () => {});
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}
