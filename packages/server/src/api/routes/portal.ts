import { readFile } from 'node:fs/promises';
import { HeraldError } from '@herald/protocol';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Api, RouteDeps } from '../server.js';
import { DASHBOARD_DIST } from './dashboard.js';

/**
 * The customer portal: the dashboard's single-page app at /portal/, opened as
 * `/portal/#token=…` (the token stays in the fragment: no request carries it). Unlike the operator
 * dashboard, it is meant to be framed by the producer's own app: its policy allows exactly the
 * origins of `--portal-frame-ancestors` (default 'self') to frame it, and nothing else changes.
 * Its assets are the dashboard's (/dashboard/assets/…).
 */
function portalSecurityHeaders(frameAncestors: readonly string[]) {
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
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  };
}

export function portalRoutes(app: Api, { config }: RouteDeps, dist: string = DASHBOARD_DIST): void {
  const headers = portalSecurityHeaders(config.portalFrameAncestors ?? ["'self'"]);
  const withHeaders = (
    _request: FastifyRequest,
    reply: FastifyReply,
    payload: unknown,
    done: (error: null, payload: unknown) => void,
  ) => {
    reply.headers(headers);
    done(null, payload);
  };
  const options = { config: { public: true }, onSend: withHeaders };

  app.get('/portal', options, async (_request, reply) => reply.redirect('/portal/', 301));

  /** What the portal shows before it has a session (and when it has expired): public on purpose. */
  app.get('/portal/config.json', options, async () => ({
    brand_name: config.portalBrandName ?? null,
    accent: config.portalAccent ?? null,
    return_url: config.portalReturnUrl ?? null,
  }));

  // Every path under /portal/ is a view of the single-page app, which tells tenant mode by its path.
  app.get('/portal/*', options, async (_request, reply) => {
    let index: Buffer;
    try {
      index = await readFile(`${dist}index.html`);
    } catch {
      throw new HeraldError(
        'SERVICE_UNAVAILABLE',
        `The dashboard has not been built (no ${dist}index.html): run \`npm run build\` in the Herald checkout.`,
        { retryAfterSeconds: 60 },
      );
    }
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(index);
  });
}
