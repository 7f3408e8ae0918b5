#!/usr/bin/env node
// Copies the API reference's renderer (Scalar's standalone browser bundle, one file) from
// node_modules into dist/docs/, where GET /docs/ serves it: the reference loads nothing from a CDN.
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
// The package exports no package.json: its entry is dist/index.js, beside dist/browser/.
const scalarDist = dirname(require.resolve('@scalar/api-reference'));
const out = fileURLToPath(new URL('../dist/docs/', import.meta.url));
mkdirSync(out, { recursive: true });
copyFileSync(join(scalarDist, 'browser/standalone.js'), join(out, 'scalar.js'));
console.log(`bundled the API reference renderer into ${out}`);
