/**
 * The packages as a user gets them: `npm pack` @herald/protocol, @herald/client and
 * @herald/receiver, install the tarballs in an empty project (never @herald/server: the client's
 * types come from @herald/protocol/api) (with what the README's install step names, from the npm
 * registry), and run the README's blocks there against the built `herald serve` of this repository.
 * Slow (npm builds better-sqlite3 where it finds no prebuilt binary): a system test.
 */
import { type SpawnOptions, spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Herald, heraldBuilt, startHerald } from './support/herald.js';
import { findPostgres } from './support/postgres.js';
import { codeBlocks, ROOT, runBlock, scratchDatabase } from './support/readme.js';

const README = 'packages/receiver/README.md';
const PACKAGES = [
  { name: '@herald/protocol', dir: 'packages/protocol' },
  { name: '@herald/client', dir: 'packages/client' },
  { name: '@herald/receiver', dir: 'packages/receiver' },
];

if (!heraldBuilt()) throw new Error('This test spawns the built sender: run `npm run build` first.');

let work: string;
let herald: Herald;
let database: { url: string; drop(): Promise<void> } | null = null;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'herald-package-'));
  herald = await startHerald();
  const postgres = await findPostgres();
  if (postgres !== null) database = await scratchDatabase(postgres);
});
afterAll(async () => {
  await herald?.stop();
  await database?.drop();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Runs a command to its end; throws with its output unless it exits 0. */
async function sh(command: string, args: string[], options: SpawnOptions & { cwd: string }): Promise<string> {
  // Not the npm_* variables of an `npm test` around this run: the commands here are a user's own.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')));
  const child = spawn(command, args, { env, ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr!.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${code}:\n${out}\n${err}`);
  return out;
}

/** The packages the README tells a user to install (`npm install …`, in its sh blocks or its text). */
function installStep(): string[] {
  const text = readFileSync(join(ROOT, README), 'utf8');
  const names = new Set<string>();
  for (const match of text.matchAll(/npm install ((?:[@\w./-]+ ?)+)/g)) {
    for (const name of match[1]!.trim().split(' ')) names.add(name);
  }
  return [...names];
}

it('the packed tarballs install in an empty project, with types, and the README runs there', async () => {
  // 1. Pack: only built output, a README and the licence; dependencies by real versions.
  const tarballs = join(work, 'tarballs');
  mkdirSync(tarballs);
  const packed = JSON.parse(
    await sh('npm', ['pack', '--json', '--pack-destination', tarballs, ...PACKAGES.flatMap((p) => ['-w', p.name])], {
      cwd: ROOT,
    }),
  ) as { name: string; filename: string; files: { path: string }[] }[];
  expect(packed.map((p) => p.name).sort()).toEqual(PACKAGES.map((p) => p.name).sort());
  for (const { name, dir } of PACKAGES) {
    const files = packed.find((p) => p.name === name)!.files.map((f) => f.path);
    expect(files).toEqual(
      expect.arrayContaining(['package.json', 'README.md', 'LICENSE', 'dist/index.js', 'dist/index.d.ts']),
    );
    for (const file of files) {
      if (['package.json', 'README.md', 'LICENSE'].includes(file)) continue;
      // Every shipped file is the build of a source module, never of a test.
      const source = /^dist\/(.+)\.(?:js|d\.ts)$/.exec(file)?.[1];
      expect(source, `${name}: ${file}`).toBeDefined();
      expect(source, `${name}: ${file}`).not.toMatch(/\.test$/);
      expect(existsSync(join(ROOT, dir, 'src', `${source}.ts`)), `${name}: ${file} has no source`).toBe(true);
    }
    const manifest = JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8'));
    expect(manifest).toMatchObject({ license: 'MIT', engines: { node: expect.any(String) } });
    expect(manifest.exports['.']).toMatchObject({ types: './dist/index.d.ts', default: './dist/index.js' });
    for (const [dep, range] of Object.entries(manifest.dependencies ?? {})) {
      expect(range, `${name} → ${dep}`).toMatch(/^[\^~]?\d+\.\d+\.\d+/);
    }
  }
  const protocolVersion = JSON.parse(readFileSync(join(ROOT, 'packages/protocol/package.json'), 'utf8')).version;
  const manifestOf = (dir: string) => JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8'));
  const receiverManifest = manifestOf('packages/receiver');
  const clientManifest = manifestOf('packages/client');
  expect(receiverManifest.dependencies['@herald/protocol']).toBe(protocolVersion);
  expect(receiverManifest.dependencies['@herald/client']).toBe(clientManifest.version);
  // The client's .d.ts import @herald/protocol/api: a real dependency, and never the server.
  expect(clientManifest.dependencies['@herald/protocol']).toBe(protocolVersion);
  for (const manifest of [receiverManifest, clientManifest, manifestOf('packages/protocol')]) {
    expect(Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies })).not.toContain('@herald/server');
  }

  // 2. An empty project installs the tarballs, and what the README's install step names.
  const app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'app', private: true, type: 'module', allowScripts: { 'better-sqlite3': true } }),
  );
  const step = installStep();
  expect(step).toContain('@herald/receiver');
  const tarball = (name: string) => join(tarballs, packed.find((p) => p.name === name)!.filename);
  await sh(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      tarball('@herald/protocol'),
      tarball('@herald/client'),
      ...step.map((name) => (name === '@herald/receiver' ? tarball(name) : name)),
      '@types/node@20', // for the type check below, as a TypeScript user has it
    ],
    { cwd: app },
  );
  for (const { name } of PACKAGES) {
    const installed = join(app, 'node_modules', name);
    expect(lstatSync(installed).isSymbolicLink(), `${name} is a copy, not a link into this repository`).toBe(false);
    expect(existsSync(join(installed, 'src')), `${name} ships no sources`).toBe(false);
  }
  expect(existsSync(join(app, 'node_modules/@herald/server')), '@herald/server was installed').toBe(false);

  // 3. The types resolve through `exports` (a wrong type is an error, so they are not `any`).
  writeFileSync(
    join(app, 'check.ts'),
    [
      "import { verifyStandard } from '@herald/protocol';",
      "import { createReceiver, type ReceiverOptions, sqliteInbox } from '@herald/receiver';",
      "import { createClient, type Endpoint, type PublishInput } from '@herald/client';",
      "import { PublishBody } from '@herald/protocol/api';",
      "const options: ReceiverOptions = { secret: 'whsec_x', inbox: sqliteInbox('inbox.db'), on: {} };",
      'export const made = createReceiver(options);',
      '// @ts-expect-error: verifyStandard takes secrets, headers and a body',
      'verifyStandard(42);',
      "export const client = createClient({ url: 'http://localhost:8080', apiKey: 'hk_x' });",
      'export const publish = (input: PublishInput) => client.events.publish(input);',
      "// @ts-expect-error: an endpoint's url is a string (the types come from @herald/protocol/api)",
      "export const wrong: Endpoint['url'] = 42;",
      'export const schema: object = PublishBody;',
      '',
    ].join('\n'),
  );
  await sh(
    process.execPath,
    [
      join(ROOT, 'node_modules/typescript/bin/tsc'),
      '--noEmit',
      '--strict',
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--target',
      'es2022',
      '--types',
      'node',
      'check.ts',
    ],
    { cwd: app },
  );

  // 4. The README's blocks run from the installed packages, against the real sender.
  const blocks = codeBlocks(README).filter((b) => !b.fragment);
  expect(blocks.length).toBeGreaterThanOrEqual(2);
  let served = 0;
  for (const block of blocks) {
    if (block.code.includes('DATABASE_URL') && database === null) {
      console.warn(`!!!!!!!!!! SKIPPING ${block.where}: PostgreSQL is not reachable !!!!!!!!!!`);
      continue;
    }
    const result = await runBlock(block, { project: app, herald, databaseUrl: database?.url ?? null });
    if (result.outcome === 'served') served++;
  }
  // At least the Quickstart handled a webhook from Herald (runBlock checks its effects).
  expect(served).toBeGreaterThanOrEqual(1);
}, 600_000);
