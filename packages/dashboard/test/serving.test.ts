import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ErrorBody } from '@herald/protocol';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handleError } from '../../server/src/api/errors.js';
import { DASHBOARD_DIST, dashboardRoutes } from '../../server/src/api/routes/dashboard.js';
import type { Api, RouteDeps } from '../../server/src/api/server.js';
import { startTestHerald, type TestHerald } from '../../server/test/harness.js';

// These tests read the build in packages/dashboard/dist (npm run build, or npm ci, makes it).
describe('the server serves the dashboard at /dashboard/', () => {
  let h: TestHerald;
  beforeAll(async () => {
    h = await startTestHerald();
  });
  afterAll(() => h.close());

  it('answers the app for /dashboard/ and for any view under it, without a key', async () => {
    for (const path of ['/dashboard/', '/dashboard/failed', '/dashboard/deliveries/dlv_123']) {
      const response = await fetch(h.url + path);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
      expect(response.headers.get('cache-control')).toBe('no-cache');
      expect(await response.text()).toContain('<div id="root">');
    }
    const bare = await fetch(`${h.url}/dashboard`, { redirect: 'manual' });
    expect(bare.status).toBe(301);
    expect(bare.headers.get('location')).toBe('/dashboard/');
  });

  it('sends security headers with the app and with its assets: no framing, no sniffing, no inline script', async () => {
    const script = readdirSync(join(DASHBOARD_DIST, 'assets')).find((f) => f.endsWith('.js'));
    for (const path of ['/dashboard/', '/dashboard/failed', `/dashboard/assets/${script}`, '/dashboard']) {
      const response = await fetch(h.url + path, { redirect: 'manual' });
      const csp = response.headers.get('content-security-policy') ?? '';
      expect(csp, path).toContain("default-src 'none'");
      expect(csp, path).toContain("script-src 'self'");
      expect(csp, path).not.toContain('unsafe-inline');
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(response.headers.get('x-frame-options'), path).toBe('DENY');
      expect(response.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(response.headers.get('referrer-policy'), path).toBe('no-referrer');
    }
    // The build has no inline script for the policy to allow.
    const html = await (await fetch(`${h.url}/dashboard/`)).text();
    expect(html.match(/<script(?![^>]*\bsrc=)[^>]*>/g) ?? []).toEqual([]);
  });

  it('serves fingerprinted assets as immutable, and a missing asset as 404 (not the app)', async () => {
    const script = readdirSync(join(DASHBOARD_DIST, 'assets')).find((f) => f.endsWith('.js'));
    expect(script).toBeDefined();
    const asset = await fetch(`${h.url}/dashboard/assets/${script}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(asset.headers.get('cache-control')).toContain('immutable');
    const missing = await fetch(`${h.url}/dashboard/assets/index-gone.js`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as ErrorBody).error.code).toBe('NOT_FOUND');
  });

  it('never serves a file outside the build', async () => {
    const response = await fetch(`${h.url}/dashboard/..%2f..%2f..%2fpackage.json`);
    expect(await response.text()).not.toContain('"workspaces"');
  });
});

describe('the server serves the customer portal at /portal/', () => {
  let h: TestHerald;
  let framed: TestHerald;
  beforeAll(async () => {
    h = await startTestHerald();
    framed = await startTestHerald({
      portalFrameAncestors: ['https://app.example.com', 'http://127.0.0.1:3000'],
      portalReturnUrl: 'https://app.example.com/webhooks',
      portalBrandName: 'Acme',
      portalAccent: '#0b6bcb',
    });
  });
  afterAll(async () => {
    await h.close();
    await framed.close();
  });

  it('answers the same app for any view under /portal/, framable by this origin only by default', async () => {
    for (const path of ['/portal/', '/portal/failed', '/portal/deliveries/dlv_123']) {
      const response = await fetch(h.url + path);
      expect(response.status, path).toBe(200);
      expect(await response.text()).toContain('<div id="root">');
      const csp = response.headers.get('content-security-policy') ?? '';
      expect(csp, path).toContain("frame-ancestors 'self'");
      expect(csp, path).toContain("script-src 'self'");
      expect(csp, path).not.toContain('unsafe-inline');
      expect(response.headers.get('x-frame-options'), path).toBeNull();
      expect(response.headers.get('referrer-policy'), path).toBe('no-referrer');
    }
    const bare = await fetch(`${h.url}/portal`, { redirect: 'manual' });
    expect(bare.headers.get('location')).toBe('/portal/');
    expect(await (await fetch(`${h.url}/portal/config.json`)).json()).toEqual({
      brand_name: null,
      accent: null,
      return_url: null,
    });
  });

  it("lets the producer's origins frame the portal, never the operator dashboard", async () => {
    const portal = await fetch(`${framed.url}/portal/`);
    expect(portal.headers.get('content-security-policy')).toContain(
      'frame-ancestors https://app.example.com http://127.0.0.1:3000',
    );
    const dashboard = await fetch(`${framed.url}/dashboard/`);
    expect(dashboard.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(dashboard.headers.get('x-frame-options')).toBe('DENY');
    expect(await (await fetch(`${framed.url}/portal/config.json`)).json()).toEqual({
      brand_name: 'Acme',
      accent: '#0b6bcb',
      return_url: 'https://app.example.com/webhooks',
    });
  });
});

describe('a server whose dashboard was not built', () => {
  it('answers 503 saying to run npm run build', async () => {
    const empty = `${mkdtempSync(join(tmpdir(), 'herald-no-dist-'))}/`;
    const app = Fastify();
    app.setErrorHandler(handleError);
    dashboardRoutes(app as unknown as Api, {} as RouteDeps, empty);
    const response = await app.inject({ method: 'GET', url: '/dashboard/' });
    await app.close();
    rmSync(empty, { recursive: true });
    expect(response.statusCode).toBe(503);
    expect(response.json().error.code).toBe('SERVICE_UNAVAILABLE');
    expect(response.json().error.message).toContain('npm run build');
  });
});
