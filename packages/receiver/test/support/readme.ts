/**
 * Runs the code blocks of a README as a reader would: each `js`/`ts` block saved as a module of
 * its own and started with node, against a real `herald serve`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import ts from 'typescript';
import type { Herald } from './herald.js';

export const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

export interface CodeBlock {
  /** Where it is, as `packages/receiver/README.md:42` (the line of its opening fence). */
  where: string;
  lang: 'js' | 'ts';
  code: string;
  /**
   * Marked `<!-- fragment … -->` on the line before its fence (blank lines between allowed): a piece
   * that needs the code around it, so it is only parsed, never run.
   */
  fragment: boolean;
}

const LANGS: Record<string, CodeBlock['lang']> = { js: 'js', javascript: 'js', mjs: 'js', ts: 'ts', typescript: 'ts' };

/** The `js`/`ts` blocks of a Markdown file (path from the repository root). */
export function codeBlocks(file: string): CodeBlock[] {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const close = lines.findIndex((line, j) => j > i && /^```\s*$/.test(line));
    if (close === -1) throw new Error(`${file}:${i + 1}: a code block is never closed`);
    const lang = LANGS[open[1]!.toLowerCase()];
    if (lang !== undefined) {
      let before = i - 1;
      while (before >= 0 && lines[before]!.trim() === '') before--;
      blocks.push({
        where: `${file}:${i + 1}`,
        lang,
        code: lines.slice(i + 1, close).join('\n'),
        fragment: before >= 0 && /^<!--\s*fragment\b.*-->$/.test(lines[before]!.trim()),
      });
    }
    i = close;
  }
  return blocks;
}

/** The block as an ES module node can run (TypeScript blocks lose their types). */
export function moduleSource(block: CodeBlock): string {
  if (block.lang === 'js') return block.code;
  return ts.transpileModule(block.code, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
}

/** Node's syntax check of a block, without running it: the error text, or null. */
export async function syntaxError(block: CodeBlock, dir: string): Promise<string | null> {
  const file = join(dir, `check-${block.where.replace(/\W+/g, '-')}.mjs`);
  writeFileSync(file, moduleSource(block));
  const { code, output } = await run(spawn(process.execPath, ['--check', file], { stdio: ['ignore', 'pipe', 'pipe'] }));
  return code === 0 ? null : output;
}

export interface BlockRun {
  /** What the block did: exited by itself (`exited`), or served webhooks that were handled (`served`). */
  outcome: 'exited' | 'served';
  output: string;
}

export interface RunOptions {
  /** The folder whose node_modules the block imports from; it runs in a new folder under it. */
  project: string;
  herald: Herald;
  /** A database of its own for blocks that use PostgreSQL (`DATABASE_URL`), if there is one. */
  databaseUrl: string | null;
}

/**
 * Runs one block with the environment its README describes: `WEBHOOK_SECRET`, `HERALD_URL`,
 * `HERALD_API_KEY` (a read key; an admin key for the root README), `HERALD_ENDPOINT_ID` of a new endpoint, `PORT=0`, `HOST`, and
 * `DATABASE_URL`. A block either exits 0 by itself, or prints `receiving on <url>`: then the
 * endpoint is pointed at that url, a connection reports a completed sync and an `order.created` is
 * published, and the block must have handled both, the sync as a row in its `syncs` table (in
 * `inbox.db` or `DATABASE_URL`), the other as the `'*'` handler's line `order.created <id>`.
 */
export async function runBlock(block: CodeBlock, options: RunOptions): Promise<BlockRun> {
  const { herald } = options;
  const dir = join(options.project, `block-${block.where.replace(/\W+/g, '-')}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'main.mjs'), moduleSource(block));
  const endpoint = await herald.api.endpoints.create({
    url: 'http://127.0.0.1:9/not-yet',
  });
  const readKey = (await herald.api.apiKeys.create({ role: 'read' })).key;
  const env: Record<string, string> = {
    ...process.env,
    WEBHOOK_SECRET: endpoint.secret,
    HERALD_URL: herald.url,
    // The root README's blocks are a producer's (they create endpoints and publish): an admin key,
    // read from HERALD_API_KEY as the `herald` command reads it. A receiver needs only a read key.
    HERALD_API_KEY: block.where.startsWith('README.md') ? herald.adminKey : readKey,
    HERALD_ENDPOINT_ID: endpoint.id,
    PORT: '0',
    HOST: '127.0.0.1',
  } as Record<string, string>;
  if (options.databaseUrl !== null) env.DATABASE_URL = options.databaseUrl;
  const child = spawn(process.execPath, ['main.mjs'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exit = run(child);
  const listening = waitForOutput(child, /receiving on (http:\/\/\S+)/);
  const first = await Promise.race([exit.then((e) => ({ exit: e })), listening.then((url) => ({ url }))]);
  if ('exit' in first) {
    if (first.exit.code !== 0) {
      throw new Error(`${block.where} exited with ${first.exit.code}:\n${first.exit.output}`);
    }
    return { outcome: 'exited', output: first.exit.output };
  }
  try {
    await herald.api.endpoints.update(endpoint.id, { url: first.url });
    const connection = `con_${endpoint.id}`;
    const sync = await herald.api.connections.reportSync(connection, {
      status: 'completed',
    });
    const order = await herald.api.events.publish({
      type: 'order.created',
      data: { order: 42 },
    });
    const handled = async () =>
      output(child).includes(`order.created ${order.id}`) &&
      (await syncRows(dir, options.databaseUrl)).some(
        (r) => r.event_id === sync.event_id && r.connection_id === connection,
      );
    const deadline = Date.now() + 20_000;
    while (!(await handled())) {
      if (child.exitCode !== null) throw new Error(`${block.where} exited with ${child.exitCode}:\n${output(child)}`);
      if (Date.now() > deadline) {
        throw new Error(
          `${block.where} did not handle ${sync.event_id} (sync.completed) and ${order.id} (order.created) ` +
            `in 20 s:\n${output(child)}`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return { outcome: 'served', output: output(child) };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exit;
  }
}

/** The rows of the block's `syncs` table: in its SQLite `inbox.db`, else in `DATABASE_URL`. */
async function syncRows(dir: string, databaseUrl: string | null): Promise<Record<string, unknown>[]> {
  let db: Database.Database | undefined;
  try {
    db = new Database(join(dir, 'inbox.db'), { readonly: true, fileMustExist: true });
    return db.prepare('SELECT * FROM syncs').all() as Record<string, unknown>[];
  } catch (error) {
    if (!/unable to open|no such table/.test(String(error))) throw error;
  } finally {
    db?.close();
  }
  if (databaseUrl === null) return [];
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query('SELECT * FROM syncs')).rows;
  } catch (error) {
    if ((error as { code?: string }).code === '42P01') return []; // not created yet
    throw error;
  } finally {
    await client.end();
  }
}

const outputs = new WeakMap<ChildProcess, { text: string }>();

/** Everything the child printed so far, stdout and stderr. */
function output(child: ChildProcess): string {
  return outputs.get(child)?.text ?? '';
}

function collect(child: ChildProcess): { text: string } {
  let collected = outputs.get(child);
  if (collected === undefined) {
    const c = { text: '' };
    child.stdout?.on('data', (chunk: Buffer) => {
      c.text += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      c.text += chunk.toString();
    });
    outputs.set(child, c);
    collected = c;
  }
  return collected;
}

function run(child: ChildProcess): Promise<{ code: number | null; output: string }> {
  const collected = collect(child);
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, output: collected.text })));
}

function waitForOutput(child: ChildProcess, pattern: RegExp): Promise<string> {
  const collected = collect(child);
  return new Promise((resolve) => {
    const look = () => {
      const match = pattern.exec(collected.text);
      if (match) {
        child.stdout?.off('data', look);
        resolve(match[1]!);
      }
    };
    child.stdout?.on('data', look);
  });
}

/** A database of its own on the test PostgreSQL: blocks use the schema `public`, as a reader would. */
export async function scratchDatabase(url: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `recv_readme_${randomBytes(6).toString('hex')}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const scratch = new URL(url);
  scratch.pathname = `/${name}`;
  return { url: scratch.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}
