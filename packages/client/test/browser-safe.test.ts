import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The client runs in browsers: at run time it may import only its own modules. Type imports (of
 * @herald/protocol/api and @herald/protocol) are erased by the compiler and are fine.
 */
const SRC = fileURLToPath(new URL('../src/', import.meta.url));

describe('@herald/client is fetch-only', () => {
  it('has no run-time import but its own modules, and no Node globals', () => {
    const files = readdirSync(SRC).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
    expect(files.length).toBeGreaterThan(3);
    for (const file of files) {
      const text = readFileSync(SRC + file, 'utf8');
      const imports = [...text.matchAll(/^(?:import|export)\s+(?!type\b)[^;]*?from\s+'([^']+)'/gms)].map((m) => m[1]);
      for (const source of imports) expect(`${file}: ${source}`).toMatch(/: \.\/[\w-]+\.js$/);
      expect(text, file).not.toMatch(/\b(Buffer|process|require)\b[.(]/);
    }
  });
});
