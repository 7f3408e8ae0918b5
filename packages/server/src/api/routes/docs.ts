import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { HeraldError } from '@herald/protocol';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Api, RouteDeps } from '../server.js';

/**
 * The API reference at /docs/: docs/openapi.json's document (GET /v1/openapi.json) drawn by Scalar,
 * whose standalone bundle the build copies into dist/docs/ (scripts/bundle-docs.js): nothing comes
 * from a CDN. The same relative path holds from src/api/routes (tests) and dist/api/routes.
 */
export const DOCS_DIST = fileURLToPath(new URL('../../../dist/docs/', import.meta.url));

/**
 * What the renderer needs and nothing more: its own script and the page's (no inline script),
 * the document and "try it" requests to this origin, and inline styles, which the renderer
 * injects as <style> elements at run time (Vue components' CSS and its theme) and cannot work
 * without. It may not frame or be framed, post forms, or reach any other host (its default fonts
 * and telemetry are turned off in docs.js, so it asks for none).
 */
const SECURITY_HEADERS = {
  'content-security-policy': [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
} as const;

function withSecurityHeaders(
  _request: FastifyRequest,
  reply: FastifyReply,
  payload: unknown,
  done: (error: null, payload: unknown) => void,
): void {
  reply.headers(SECURITY_HEADERS);
  done(null, payload);
}

const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Herald API reference</title>
  </head>
  <body>
    <div id="reference"></div>
    <script src="scalar.js"></script>
    <script src="docs.js"></script>
  </body>
</html>
`;

/** The renderer's settings: a file of its own, since the policy allows no inline script. */
const INIT = `Scalar.createApiReference('#reference', {
  url: '../v1/openapi.json',
  withDefaultFonts: false,
  telemetry: false,
  showDeveloperTools: 'never',
  persistAuth: false,
  agent: { disabled: true },
  defaultOpenAllTags: true,
});
`;

export function docsRoutes(app: Api, _deps: RouteDeps, dist: string = DOCS_DIST): void {
  const options = { config: { public: true }, schema: { hide: true }, onSend: withSecurityHeaders };
  app.get('/docs', options, async (_request, reply) => reply.redirect('/docs/', 301));

  app.get('/docs/', options, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(PAGE),
  );

  app.get('/docs/docs.js', options, async (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(INIT),
  );

  app.get('/docs/scalar.js', options, async (_request, reply) => {
    const file = await readFile(`${dist}scalar.js`).catch(() => undefined);
    if (!file) {
      throw new HeraldError(
        'SERVICE_UNAVAILABLE',
        `The API reference has not been built (no ${dist}scalar.js): run \`npm run build\` in the Herald checkout.`,
        { retryAfterSeconds: 60 },
      );
    }
    return reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(file);
  });
}
