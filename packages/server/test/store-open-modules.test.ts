import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { tempDir } from './temp-dir.js';

// openStore loads a store's modules only when that store is chosen (store/open.ts): memory a
// process never uses is never taken. Checked on the built module in a process of its own, through
// the CommonJS cache, where pg and better-sqlite3 (both CommonJS) land when anything imports them.
const OPEN = fileURLToPath(new URL('../dist/store/open.js', import.meta.url));
const SECRET_KEY = Buffer.alloc(32, 5).toString('base64');

function packagesLoadedAfterOpening(dir: string, env: Record<string, string> = {}): string[] {
  const db = join(dir, 'herald.db');
  const script = `
    import { createRequire } from 'node:module';
    const { openStore } = await import(${JSON.stringify(OPEN)});
    const store = await openStore(${JSON.stringify(db)}, { secretKey: ${JSON.stringify(SECRET_KEY)} });
    await store.ping();
    const loaded = Object.keys(createRequire(import.meta.url).cache)
      .map((file) => /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(file)?.[1])
      .filter(Boolean);
    await store.close();
    console.log(JSON.stringify([...new Set(loaded)]));`;
  // A file, not --input-type=module -e: the SQLite thread inherits the process's flags.
  const file = join(dir, 'open.mjs');
  writeFileSync(file, script);
  const out = execFileSync(process.execPath, [file], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  return JSON.parse(out.trim().split('\n').at(-1) ?? '[]') as string[];
}

it('SQLite on its thread: the main thread loads neither pg nor better-sqlite3', () => {
  const tmp = tempDir('herald-open-modules-');
  try {
    const loaded = packagesLoadedAfterOpening(tmp.dir);
    expect(loaded).not.toContain('pg');
    expect(loaded).not.toContain('better-sqlite3');
  } finally {
    tmp.remove();
  }
});

it('SQLite on the main thread loads better-sqlite3 and not pg', () => {
  const tmp = tempDir('herald-open-modules-');
  try {
    const loaded = packagesLoadedAfterOpening(tmp.dir, { HERALD_SQLITE_THREAD: '0' });
    expect(loaded).toContain('better-sqlite3');
    expect(loaded).not.toContain('pg');
  } finally {
    tmp.remove();
  }
});
