import { type Outage, proxyOutage, realOutage } from '../../../../soak/outage.js';

/**
 * A PostgreSQL outage for a test: the soak's (soak/outage.js), as postgres-restart.test.ts uses it.
 *
 * By default a TCP proxy between the process under test and PostgreSQL, which drops every
 * connection and refuses new ones while it is down: what a client sees of a restart. The machine's
 * real cluster is stopped and started (pg_ctlcluster) only in CI (CI=true) or with
 * HERALD_TEST_PG_RESTART=1, where system tests run one at a time and nothing else uses it.
 */
export const REAL_RESTART = process.env.HERALD_TEST_PG_RESTART === '1' || process.env.CI === 'true';

export type { Outage };

export function pgOutage(url: string): Promise<Outage> {
  return REAL_RESTART ? Promise.resolve(realOutage(url)) : proxyOutage(url);
}
