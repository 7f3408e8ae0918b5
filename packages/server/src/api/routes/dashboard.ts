import { readFile } from 'node:fs/promises';
import { extname, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HeraldError } from '@herald/protocol';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Api, RouteDeps } from '../server.js';

/**
 * The web dashboard (packages/dashboard), served as the static files of its Vite build. It calls
 * the /v1 API with the key a person signs in with, so these routes need no key themselves.
 * The same relative path holds from src/api/routes (tests) and dist/api/routes (the built server).
 */
export const DASHBOARD_DIST = fileURLToPath(new URL('../../../../dashboard/dist/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
};

/**
 * The dashboard holds an admin key in session storage, so a script injected into it, or a page that
 * frames it, could act as the admin. The policy allows only the build's own files (it has no inline
 * script; React and uPlot set styles through the DOM, which `style-src` does not govern) and calls
 * to this origin's API; nothing may frame it, sniff a type, or learn its URL through a Referer.
 * The portal (/portal/) holds one tenant's session and is made to be embedded: the same policy, but
 * the producer's own origins (`--portal-frame-ancestors`) may frame it.
 */
function securityHeaders(frameAncestors: readonly string[]): Record<string, string> {
  const framable = !(frameAncestors.length === 1 && frameAncestors[0] === "'none'");
  return {
    'content-security-policy': [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      "img-src 'self' data:",
      "font-src 'self'",
      "connect-src 'self'",
      "manifest-src 'self'",
      "base-uri 'none'",
      "form-action 'none'",
      `frame-ancestors ${frameAncestors.join(' ')}`,
    ].join('; '),
    // X-Frame-Options cannot name other origins: the portal relies on frame-ancestors alone.
    ...(framable ? {} : { 'x-frame-options': 'DENY' }),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  };
}

const DASHBOARD_HEADERS = securityHeaders(["'none'"]);

/** On every answer of a route, an error included. */
function withHeaders(headers: Record<string, string>) {
  return (
    _request: FastifyRequest,
    reply: FastifyReply,
    payload: unknown,
    done: (error: null, payload: unknown) => void,
  ): void => {
    reply.headers(headers);
    done(null, payload);
  };
}

async function readOrUndefined(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch {
    return undefined;
  }
}

async function sendIndex(dist: string, reply: FastifyReply) {
  const index = await readOrUndefined(`${dist}index.html`);
  if (!index) {
    throw new HeraldError(
      'SERVICE_UNAVAILABLE',
      `The dashboard has not been built (no ${dist}index.html): run \`npm run build\` in the Herald checkout.`,
      { retryAfterSeconds: 60 },
    );
  }
  return reply.type(TYPES['.html']!).header('cache-control', 'no-cache').send(index);
}

export function dashboardRoutes(app: Api, deps: RouteDeps, dist: string = DASHBOARD_DIST): void {
  const onSend = withHeaders(DASHBOARD_HEADERS);
  app.get('/dashboard', { config: { public: true }, schema: { hide: true }, onSend }, async (_request, reply) =>
    reply.redirect('/dashboard/', 301),
  );

  app.get('/dashboard/*', { config: { public: true }, schema: { hide: true }, onSend }, async (request, reply) => {
    // Fastify has decoded the wildcard already; normalize() folds any `..`, and startsWith keeps it inside.
    const wanted = (request.params as { '*': string })['*'];
    const path = normalize(dist + wanted);
    // A file of the build (Vite fingerprints assets/, so they never change under their name).
    if (wanted !== '' && path.startsWith(dist) && !path.endsWith(sep)) {
      const file = await readOrUndefined(path);
      if (file) {
        const immutable = wanted.startsWith('assets/');
        return reply
          .type(TYPES[extname(path)] ?? 'application/octet-stream')
          .header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
          .send(file);
      }
      // A missing asset is a 404, not the app: a stale index.html must not get HTML for its script.
      if (wanted.startsWith('assets/')) return reply.callNotFound();
    }
    // Every other path under /dashboard/ is a view of the single-page app.
    return sendIndex(dist, reply);
  });

  portalRoutes(app, deps, dist);
}

/**
 * The customer portal: the same app in tenant mode (it tells by its path), for a portal session's
 * token. Its assets are the dashboard's (/dashboard/assets/); only the page itself, and the public
 * settings it reads at start (the app has no inline script to carry them), live under /portal/.
 */
function portalRoutes(app: Api, deps: RouteDeps, dist: string): void {
  const config = deps.config;
  const onSend = withHeaders(securityHeaders(config?.portalFrameAncestors ?? ["'self'"]));
  app.get('/portal', { config: { public: true }, schema: { hide: true }, onSend }, async (_request, reply) =>
    reply.redirect('/portal/', 301),
  );

  /** The operator's portal settings; a tenant's metadata may override the brand (the app decides). */
  app.get(
    '/portal/config.json',
    { config: { public: true }, schema: { hide: true }, onSend },
    async (_request, reply) =>
      reply.header('cache-control', 'no-cache').send({
        brand_name: config?.portalBrandName ?? null,
        accent: config?.portalAccent ?? null,
        return_url: config?.portalReturnUrl ?? null,
      }),
  );

  app.get('/portal/*', { config: { public: true }, schema: { hide: true }, onSend }, async (_request, reply) =>
    sendIndex(dist, reply),
  );
}
