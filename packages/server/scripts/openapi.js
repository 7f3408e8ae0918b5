#!/usr/bin/env node
// Writes docs/openapi.json: the document a built Herald serves at GET /v1/openapi.json, from a
// throwaway instance on loopback. `npm run openapi` builds first; test/openapi.test.ts fails when
// the checked-in copy and the served one differ.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startHerald } from '../dist/app.js';
import { makeConfig } from '../dist/config.js';

const OUT = fileURLToPath(new URL('../../../docs/openapi.json', import.meta.url));

const dir = mkdtempSync(join(tmpdir(), 'herald-openapi-'));
try {
  const config = makeConfig({ port: 0, host: '127.0.0.1', db: join(dir, 'herald.db'), logLevel: 'silent' });
  const herald = await startHerald(config, 'api');
  try {
    const response = await fetch(`${herald.url}/v1/openapi.json`);
    if (!response.ok) throw new Error(`GET /v1/openapi.json answered ${response.status}`);
    writeFileSync(OUT, `${JSON.stringify(await response.json(), null, 2)}\n`);
    console.log(`wrote ${OUT}`);
  } finally {
    await herald.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
