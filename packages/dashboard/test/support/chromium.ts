import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import { describe } from 'vitest';

/**
 * What the browser tests share: Debian's Chromium (CHROMIUM_PATH points elsewhere; the tests use no
 * browser download), the rule that they skip loudly on a machine without it but fail in CI, and
 * where screenshots go.
 */

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const IN_CI = process.env.CI === 'true';

/**
 * UPDATE_SCREENSHOTS=1 writes the README's screenshots (docs/screenshots); otherwise they go to a
 * temp dir, so a test run leaves the work tree as it was.
 */
export const SCREENSHOTS =
  process.env.UPDATE_SCREENSHOTS === '1'
    ? fileURLToPath(new URL('../../../../docs/screenshots/', import.meta.url))
    : `${join(tmpdir(), 'herald-screenshots')}/`;

/**
 * `describe` when Chromium is here or in CI (where a missing one fails in launchChromium), else
 * `describe.skip` after a warning nobody can miss. `what` names the tests in the warning.
 */
export function browserSuite(what: string): typeof describe | typeof describe.skip {
  if (HAVE_CHROMIUM || IN_CI) return describe;
  console.warn(
    `\n\n*** SKIPPING the ${what}: no Chromium at ${CHROMIUM}. ***\n` +
      '*** Install it (apt-get install -y chromium) to run them; in CI (CI=true) they fail instead. ***\n\n',
  );
  return describe.skip;
}

/** Headless Chromium with nothing of its own on the network. */
export async function launchChromium(): Promise<Browser> {
  if (!HAVE_CHROMIUM) throw new Error(`CI=true and no Chromium at ${CHROMIUM}: .ci/run must install it.`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}
