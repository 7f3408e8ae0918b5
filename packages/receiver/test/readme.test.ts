/**
 * Every `js`/`ts` code block of the READMEs runs as written, against a real `herald serve` (the
 * built one: `npm run build` first). A block that is only a piece of a program is marked
 * `<!-- fragment … -->` before its fence: it is parsed, not run, and counted here so that none is
 * skipped unseen.
 */
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Herald, heraldBuilt, startHerald } from './support/herald.js';
import { findPostgres } from './support/postgres.js';
import { receiverBuilt } from './support/processes.js';
import { codeBlocks, ROOT, runBlock, scratchDatabase, syntaxError } from './support/readme.js';

/** The root README's blocks are checked too, so that a receiver example added there runs as well. */
const READMES = ['README.md', 'packages/receiver/README.md', 'packages/protocol/README.md'];
/** The fragments there are: the Replay block of the receiver README. Change it with them. */
const FRAGMENTS = 1;

if (!heraldBuilt() || !receiverBuilt())
  throw new Error('These tests spawn the built packages: run `npm run build` first.');

const blocks = READMES.flatMap(codeBlocks);
let herald: Herald;
let project: string;
let database: { url: string; drop(): Promise<void> } | null = null;

beforeAll(async () => {
  herald = await startHerald();
  // The blocks import the workspace's packages (the built ones) as an installed project would.
  project = mkdtempSync(join(tmpdir(), 'herald-readme-'));
  symlinkSync(join(ROOT, 'node_modules'), join(project, 'node_modules'), 'dir');
  const postgres = await findPostgres();
  if (postgres !== null) database = await scratchDatabase(postgres);
}, 60_000);
afterAll(async () => {
  await herald?.stop();
  await database?.drop();
  if (project) rmSync(project, { recursive: true, force: true });
});

it('every block is run, or marked as a fragment and counted', () => {
  expect(blocks.filter((b) => !b.fragment).length).toBeGreaterThanOrEqual(3);
  expect(blocks.filter((b) => b.fragment).map((b) => b.where)).toHaveLength(FRAGMENTS);
});

describe.each(blocks.filter((b) => !b.fragment))('$where', (block) => {
  it('runs as written', async (t) => {
    if (block.code.includes('DATABASE_URL') && database === null) {
      t.skip('PostgreSQL is not reachable (see above)');
    }
    const result = await runBlock(block, { project, herald, databaseUrl: database?.url ?? null });
    // A block that listens must have handled the sync and the order it was sent (runBlock checks).
    expect(result.outcome).toBe(/\.listen\(/.test(block.code) ? 'served' : 'exited');
  });
});

describe.each(blocks.filter((b) => b.fragment))('$where (a fragment)', (block) => {
  it('parses', async () => {
    expect(await syntaxError(block, project)).toBeNull();
  });
});
