import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * One client for Herald's API (issue 14): the dashboard, the receiver, the `herald` command and the
 * tests' helpers call the API through @herald/client, never through a fetch wrapper of their own.
 * This reads their sources for anything that makes an HTTP request (fetch, XMLHttpRequest, a
 * node:http(s) request, an HTTP client library) and fails on any that the list below does not name
 * with its reason. The list is exact: an entry that no longer matches fails too, so it cannot rot.
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Where API callers live (tests themselves are left out: a test may send hostile raw requests). */
const SCANNED = [
  'packages/dashboard/src',
  'packages/receiver/src',
  'packages/server/src/cli',
  'packages/receiver/test/support',
  'packages/server/test/harness.ts',
  'packages/server/test/herald-process.ts',
];

/** What is allowed, line by line (the code of the line, trimmed), and why it is not an API wrapper. */
const ALLOWED: { file: string; line: string; reason: string }[] = [
  {
    file: 'packages/receiver/src/client.ts',
    line: 'fetch?: typeof fetch;',
    reason: "heraldClient's option, handed to @herald/client's own `fetch` option",
  },
  {
    file: 'packages/receiver/src/client.ts',
    line: '...(options.fetch && { fetch: options.fetch }),',
    reason: 'the same option, passed on to createClient',
  },
  {
    file: 'packages/receiver/src/receiver.ts',
    line: 'fetch(request: Request): Promise<Response>;',
    reason: 'the receiver answers webhooks on fetch-style servers (Hono, Bun, Deno): it receives, it calls nothing',
  },
  {
    file: 'packages/receiver/src/receiver.ts',
    line: 'fetch: fetchHandler(adapter),',
    reason: 'the same handler, built',
  },
  {
    file: 'packages/dashboard/src/portal.tsx',
    line: "const settings = useAsync(() => fetch('/portal/config.json').then((r) => r.json() as Promise<PortalSettings>), []);",
    reason: 'a static file beside the portal page (its brand), not a route of the API',
  },
  {
    file: 'packages/server/src/cli/listen.ts',
    line: 'const response = await fetch(forwardTo, {',
    reason: '`herald listen` forwards signed webhooks to a local receiver: a delivery, not an API call',
  },
  {
    file: 'packages/receiver/test/support/webhooks.ts',
    line: "const response = await fetch(url, { method: 'POST', headers: delivery.headers, body: delivery.body });",
    reason: 'posts a signed webhook to the receiver under test, as Herald delivers one',
  },
  {
    file: 'packages/server/test/harness.ts',
    line: 'const response = await fetch(url + path, { method, headers, body: payload });',
    reason:
      'the API tests send raw HTTP on purpose (no key, raw bodies, any status) and check every answer against docs/openapi.json',
  },
  {
    file: 'packages/server/test/herald-process.ts',
    line: 'const response = await fetch(url + path, {',
    reason: "the system tests' raw call, whose every answer is checked against docs/openapi.json",
  },
];

/** Patterns of code that makes an HTTP request, or hands one a fetch. */
const REQUEST_MAKERS: { name: string; pattern: RegExp }[] = [
  { name: 'fetch', pattern: /\bfetch\b/ },
  { name: 'XMLHttpRequest', pattern: /\bXMLHttpRequest\b/ },
  { name: 'sendBeacon', pattern: /\bsendBeacon\b/ },
  { name: 'node:http(s) request', pattern: /\bhttps?\.(?:request|get)\s*\(/ },
  {
    name: 'node:http(s) request import',
    pattern: /^import\s*\{[^}]*(?<!type\s)\b(?:request|get)\b[^}]*\}\s*from\s*'(?:node:)?https?'/,
  },
  { name: 'HTTP client library', pattern: /from\s*'(?:undici|axios|node-fetch|got|ky|superagent)'/ },
];

/** Code without its comments: `/* … *\/` blocks, and `//` comments that start a line or follow a space. */
function codeLines(text: string): string[] {
  const withoutBlocks = text.replace(/\/\*[\s\S]*?\*\//g, (block) => block.replace(/[^\n]/g, ''));
  return withoutBlocks.split('\n').map((line) => line.replace(/(^|\s)\/\/.*$/, '$1').trim());
}

/** A line with its quoted strings emptied: `'./adapters/fetch.js'` names a module, it calls nothing. */
const withoutStrings = (line: string) => line.replace(/'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"/g, "''");

/** The lines of `text` that make (or pass on) an HTTP request. */
export function requestMakers(text: string): { line: string; what: string }[] {
  const found: { line: string; what: string }[] = [];
  for (const line of codeLines(text)) {
    // Module names (an import of undici) are read with their strings; everything else without.
    const maker = REQUEST_MAKERS.find((m) =>
      m.pattern.test(m.name.includes('import') || m.name.includes('library') ? line : withoutStrings(line)),
    );
    if (maker) found.push({ line, what: maker.name });
  }
  return found;
}

function sourceFiles(path: string): string[] {
  const full = join(ROOT, path);
  if (statSync(full).isFile()) return [path];
  return readdirSync(full, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.tsx?$/.test(f) && !/\.test\.tsx?$/.test(f))
    .map((f) => relative(ROOT, join(full, f)));
}

describe('one API client', () => {
  it('finds a fetch wrapper, and the other ways to make a request, where someone adds one', () => {
    const wrapper = [
      '/** The API, our own way. fetch(...) in a comment is no call. */',
      'export async function get(path: string) {',
      "  const response = await fetch(base + path, { headers: { authorization: 'Bearer k' } }); // a call",
      '  return response.json();',
      '}',
      'const send = options.fetch ?? globalThis.fetch;',
      'const xhr = new XMLHttpRequest();',
      "import { request } from 'node:https';",
      "https.get('https://herald.example.com/v1/events');",
      "import { request as undiciRequest } from 'undici';",
      "import type { IncomingMessage } from 'node:http'; // a receiver's adapter: not a request",
      "import { fetchHandler } from './adapters/fetch.js';",
      "throw new Error('needs a client, to fetch the history');",
      "import { createServer } from 'node:http';",
    ].join('\n');
    expect(requestMakers(wrapper).map((f) => f.what)).toEqual([
      'fetch',
      'fetch',
      'XMLHttpRequest',
      'node:http(s) request import',
      'node:http(s) request',
      'HTTP client library',
    ]);
  });

  it('leaves no fetch wrapper in the dashboard, the receiver, the herald command or the test helpers', () => {
    const files = SCANNED.flatMap(sourceFiles);
    // The scan reads what it should: the dashboard's views, the receiver's modules, the CLI's commands.
    expect(files).toEqual(
      expect.arrayContaining([
        'packages/dashboard/src/api.ts',
        'packages/dashboard/src/views/Endpoints.tsx',
        'packages/receiver/src/client.ts',
        'packages/server/src/cli/main.ts',
        'packages/receiver/test/support/herald.ts',
      ]),
    );
    const found = files.flatMap((file) =>
      requestMakers(readFileSync(join(ROOT, file), 'utf8')).map(({ line }) => `${file}: ${line}`),
    );
    const allowed = ALLOWED.map(({ file, line }) => `${file}: ${line}`);
    // Anything not allowed is a fetch wrapper to replace with @herald/client (or to allow, with its reason).
    expect(found.filter((f) => !allowed.includes(f))).toEqual([]);
    // An allowed line that is gone takes its entry with it.
    expect(allowed.filter((a) => !found.includes(a))).toEqual([]);
    for (const entry of ALLOWED) expect(entry.reason.length, entry.line).toBeGreaterThan(20);
  });
});
