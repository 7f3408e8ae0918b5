import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Frame, FrameLocator, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestHerald, startTestReceiver, type TestHerald, type TestReceiver } from '../../server/test/harness.js';
import { browserSuite, launchChromium, SCREENSHOTS } from './support/chromium.js';

/**
 * The customer portal in a real browser (Debian's Chromium, driven by playwright-core), embedded as
 * a producer embeds it: a page of another origin (a second loopback server, on another port) frames
 * tenant A's portal URL. Acceptance item 4 of issue 13, and the README's portal screenshots.
 * Run after `npm run build` (the server serves packages/dashboard/dist).
 */

const suite = browserSuite('portal browser tests');

const poll = <T>(read: () => T | Promise<T>, message?: string) =>
  expect.poll(read, { timeout: 10_000, interval: 50, message });

/** The producer's own app: one page that frames whatever `?src=` names. */
async function startProducerApp(): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const src = new URL(req.url ?? '/', 'http://x').searchParams.get('src') ?? '';
    const attr = src.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(
      `<!doctype html><html><head><title>Producer app</title></head><body style="margin:0">` +
        `<h1 style="font:16px sans-serif;margin:8px">Producer app: your webhooks</h1>` +
        `<iframe id="portal" title="Webhooks" src="${attr}" style="width:100%;height:760px;border:0"></iframe>` +
        '</body></html>',
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

suite('the customer portal, embedded in another origin, in a browser', () => {
  let h: TestHerald;
  let producer: { url: string; server: Server };
  let browser: Browser;
  let page: Page;
  const receivers: TestReceiver[] = [];
  const consoleLines: string[] = [];
  const RETURN_URL = 'https://app.example.com/settings/webhooks';

  async function receiver(status: number, body: string): Promise<TestReceiver> {
    const rx = await startTestReceiver(() => ({ status, body }));
    receivers.push(rx);
    return rx;
  }

  /** Publishes one event for `tenant` and waits for its delivery to `endpointId` to have failed every attempt. */
  async function failedDelivery(tenant: string, endpointId: string, type: string): Promise<string> {
    const published = await h.request('POST', '/v1/events', { type, tenant_id: tenant, data: { n: 1 } });
    expect(published.status).toBe(202);
    const deadline = Date.now() + 15_000;
    for (;;) {
      const page = await h.request('GET', `/v1/deliveries?event_id=${published.body.id}&endpoint_id=${endpointId}`);
      const [d] = page.body.data as Array<{ id: string; status: string }>;
      if (d?.status === 'failed') return d.id;
      if (Date.now() > deadline)
        throw new Error(`the delivery of ${published.body.id} to ${endpointId} is ${d?.status}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async function portalUrl(tenant: string): Promise<string> {
    const session = await h.request('POST', `/v1/tenants/${tenant}/portal-sessions`, { expires_in: 3600 });
    expect(session.status).toBe(201);
    return session.body.url;
  }

  /** The frame the producer's page holds, once it has navigated to `prefix`. */
  async function frameAt(prefix: string): Promise<Frame> {
    let found: Frame | undefined;
    await poll(() => {
      found = page.frames().find((f) => f !== page.mainFrame() && f.url().startsWith(prefix));
      return found !== undefined;
    }, `a frame at ${prefix}`).toBe(true);
    return found!;
  }

  beforeAll(async () => {
    producer = await startProducerApp();
    h = await startTestHerald({
      retryBaseMs: 100,
      retryMaxAgeMs: 1000,
      rateLimitPerS: 100_000,
      portalFrameAncestors: [producer.url],
      portalBrandName: 'Northwind',
      portalAccent: '#8a3ffc',
      portalReturnUrl: RETURN_URL,
    });
    const index = await fetch(`${h.url}/portal/`);
    if (index.status !== 200) throw new Error(`GET /portal/ answered ${index.status}: run \`npm run build\` first.`);
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, timezoneId: 'Europe/Paris' });
    context.on('console', (message) => consoleLines.push(message.text()));
    page = await context.newPage();
    page.setDefaultTimeout(10_000);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all(receivers.map((rx) => rx.close()));
    await h?.close();
    await new Promise((resolve) => producer?.server.close(resolve));
  });

  it("lets tenant A's customer find, fix and retry its failed webhook, manage endpoints, and see nothing of B", async () => {
    // The producer's three calls: its customers as tenants, their endpoints, a portal link.
    for (const [id, name, metadata] of [
      ['acme', 'Acme Corp', { brand_name: 'Northwind for Acme' }],
      ['globex', 'Globex', {}],
    ] as const) {
      expect((await h.request('PUT', `/v1/tenants/${id}`, { name, metadata })).status).toBe(201);
    }
    const rxA = await receiver(500, 'database down');
    const rxB = await receiver(500, 'nope');
    const epA = await h.request('POST', '/v1/endpoints', {
      url: rxA.url,
      tenant_id: 'acme',
      description: 'Acme order sync',
      event_types: ['invoice.paid'],
    });
    const epB = await h.request('POST', '/v1/endpoints', { url: rxB.url, tenant_id: 'globex' });
    const failedA = await failedDelivery('acme', epA.body.id, 'invoice.paid');
    const failedB = await failedDelivery('globex', epB.body.id, 'invoice.paid');
    const url = await portalUrl('acme');
    expect(url).toMatch(new RegExp(`^${h.url}/portal/#token=hps_`));

    await page.goto(`${producer.url}/?src=${encodeURIComponent(url)}`);
    const portal: FrameLocator = page.frameLocator('#portal');
    // The tenant's name and its own brand (metadata.brand_name over --portal-brand-name).
    await poll(() => portal.getByTestId('tenant').textContent()).toBe('Acme Corp');
    expect(await portal.getByTestId('brand').textContent()).toBe('Northwind for Acme');
    // The token left the address at once: only session storage holds it.
    const frame = await frameAt(`${h.url}/portal/`);
    expect(frame.url()).not.toContain('token');
    expect(await frame.evaluate(() => sessionStorage.getItem('herald.portal.token'))).toMatch(/^hps_/);
    // --portal-accent reached the page's style.
    expect(await frame.evaluate(() => document.documentElement.style.getPropertyValue('--accent'))).toBe('#8a3ffc');
    // No operator views: no API keys, no tenants, no overview of the whole account.
    const nav = portal.getByRole('navigation', { name: 'Main' });
    expect(await nav.getByRole('link').allTextContents()).toEqual([
      'Failed',
      'Deliveries',
      'Endpoints',
      'Events',
      'Sync status',
    ]);

    // The customer finds its failed webhook by what it was and how it failed, not by an id.
    const found = portal.locator('tr[data-delivery]', { hasText: 'invoice.paid' }).filter({ hasText: 'HTTP 500' });
    await poll(() => found.count()).toBe(1);
    expect(await found.getAttribute('data-delivery')).toBe(failedA);
    expect(await found.textContent()).toContain('Acme order sync');
    expect(await portal.locator(`tr[data-delivery="${failedB}"]`).count()).toBe(0);
    const row = portal.locator(`tr[data-delivery="${failedA}"]`);

    // It fixes its receiver, retries, and sees it succeed.
    rxA.respondWith(() => ({ status: 200, body: 'ok' }));
    await row.getByRole('button', { name: `Retry ${failedA}` }).click();
    await poll(() => row.getByTestId('status').textContent()).toBe('succeeded');
    expect(await row.getByTestId('last-outcome').textContent()).toBe('HTTP 200');
    expect((await h.request('GET', `/v1/deliveries/${failedA}`)).body.status).toBe('succeeded');

    // It adds an endpoint: the endpoint is the tenant's, whatever the form says.
    const rxNew = await receiver(200, 'ok');
    await nav.getByRole('link', { name: 'Endpoints' }).click();
    await portal.getByRole('button', { name: 'New endpoint' }).click();
    await portal.getByLabel('URL').fill(rxNew.url);
    await portal.getByLabel('Description').fill('Acme staging');
    await portal.getByRole('button', { name: 'Create endpoint' }).click();
    await poll(() => portal.getByRole('heading', { level: 1 }).textContent()).toBe(`Endpoint ${rxNew.url}`);
    const created = (await h.request('GET', '/v1/endpoints?tenant_id=acme&limit=250')).body.data.find(
      (e: { url: string }) => e.url === rxNew.url,
    );
    expect(created).toMatchObject({ tenant_id: 'acme', description: 'Acme staging' });

    // It reveals the signing secret, rotates it, and sees the new one.
    await portal.getByRole('button', { name: 'Reveal secret' }).click();
    const secret = portal.getByTestId('secret');
    await poll(() => secret.textContent()).toMatch(/^whsec_/);
    const before = await secret.textContent();
    await portal.getByRole('button', { name: 'Rotate secret…' }).click();
    await portal.getByRole('button', { name: 'Yes, rotate' }).click();
    await poll(() => secret.textContent()).not.toBe(before);
    expect((await h.request('GET', `/v1/endpoints/${created.id}/secret`)).body.secret).toBe(await secret.textContent());

    // It sends a test event, which reaches its receiver, signed with the new secret's id in place.
    await portal.getByRole('button', { name: 'Send test event' }).click();
    await poll(() => portal.getByRole('status').textContent()).toContain('sent to this endpoint');
    await poll(() => rxNew.requests.length).toBe(1);
    expect(JSON.parse(rxNew.requests[0]!.body.toString()).type).toBe('herald.test');
    expect(rxA.requests.some((r) => JSON.parse(r.body.toString()).type === 'herald.test')).toBe(false);

    // Typing B's delivery id into the portal's address: not found (the same as an id that never was).
    await frame.goto(`${h.url}/portal/deliveries/${failedB}`);
    const alert = portal.getByRole('alert');
    await poll(() => alert.textContent()).toContain('Not found');
    expect(await alert.textContent()).toContain('404 NOT_FOUND');
    expect(await portal.getByTestId('delivery-status').count()).toBe(0);
    // Its own delivery, the same way, is there.
    await frame.goto(`${h.url}/portal/deliveries/${failedA}`);
    await poll(() => portal.getByTestId('delivery-status').textContent()).toBe('succeeded');
    expect(await portal.getByRole('alert').count()).toBe(0);
  }, 90_000);

  it('shows the portal at 1280 and 390 px wide', async () => {
    // A second receiver of Acme's that is down, so the failed list has something to show.
    const down = await receiver(503, 'maintenance');
    const ep = await h.request('POST', '/v1/endpoints', {
      url: down.url,
      tenant_id: 'acme',
      description: 'Acme CRM',
      event_types: ['customer.updated'],
    });
    const failed = await failedDelivery('acme', ep.body.id, 'customer.updated');
    const own = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    try {
      await own.goto(await portalUrl('acme'));
      await poll(() => own.getByTestId('tenant').textContent()).toBe('Acme Corp');
      await poll(() => own.locator(`tr[data-delivery="${failed}"]`).getByTestId('last-outcome').textContent()).toBe(
        'HTTP 503',
      );
      await screenshots(own, 'portal');
    } finally {
      await own.close();
    }
  });

  it('gives a read-only session every page with every write control disabled', async () => {
    const session = await h.request('POST', '/v1/tenants/acme/portal-sessions', { read_only: true });
    const own = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    try {
      await own.goto(session.body.url);
      await poll(() => own.locator('tr[data-delivery]').count()).toBeGreaterThan(0);
      expect(await own.locator('#read-only-reason').textContent()).toContain('read-only');
      const writes = own.locator('[data-write]');
      expect(await writes.count()).toBeGreaterThan(0);
      for (const control of await writes.all()) expect(await control.isDisabled()).toBe(true);
      // An endpoint's page says why its secret stays hidden in words a tenant can act on: no admin
      // key is theirs to find.
      const [ep] = (await h.request('GET', '/v1/endpoints?tenant_id=acme&limit=1')).body.data;
      await own.goto(`${h.url}/portal/endpoints/${ep.id}`);
      const reveal = own.getByRole('button', { name: 'Reveal secret' });
      await poll(() => reveal.count()).toBe(1);
      expect(await reveal.getAttribute('title')).toBe('This portal session is read-only: it cannot reveal the secret.');
      expect(await own.locator('body').textContent()).not.toContain('admin key');
    } finally {
      await own.close();
    }
  });

  it('says when the session has ended, and links back to the producer', async () => {
    expect((await h.request('DELETE', '/v1/tenants/acme/portal-sessions')).status).toBe(200);
    const frame = await frameAt(`${h.url}/portal/`);
    await frame.goto(`${h.url}/portal/deliveries`);
    const portal = page.frameLocator('#portal');
    await poll(() => portal.getByTestId('portal-ended').textContent()).toContain('Your session has expired.');
    const back = portal.getByRole('link', { name: 'Back to Northwind' });
    expect(await back.getAttribute('href')).toBe(RETURN_URL);
    expect(await back.getAttribute('target')).toBe('_top');
  });

  it('the operator dashboard refuses to load in the same iframe', async () => {
    // Up to here the portal broke nothing of its Content-Security-Policy (routes/dashboard.ts).
    expect(consoleLines.filter((l) => /Content Security Policy/i.test(l))).toEqual([]);
    consoleLines.length = 0;
    await page.goto(`${producer.url}/?src=${encodeURIComponent(`${h.url}/dashboard/`)}`);
    // Chromium blocks the frame (frame-ancestors 'none') and says so on the console.
    await poll(() => consoleLines.some((l) => /frame-ancestors 'none'/.test(l))).toBe(true);
    const frame = page.frames().find((f) => f !== page.mainFrame());
    expect(frame).toBeDefined();
    expect(frame!.url()).not.toMatch(/^http:\/\/127\.0\.0\.1:\d+\/dashboard\/$/);
    expect(await page.frameLocator('#portal').getByText('Sign in with an API key').count()).toBe(0);
  });

  /** The same page at 1280 px and at 390 px wide, for the README. */
  async function screenshots(p: Page, name: string) {
    mkdirSync(SCREENSHOTS, { recursive: true });
    await p.setViewportSize({ width: 1280, height: 900 });
    await p.screenshot({ path: `${SCREENSHOTS}${name}-1280.png`, fullPage: true });
    await p.setViewportSize({ width: 390, height: 844 });
    await p.screenshot({ path: `${SCREENSHOTS}${name}-390.png`, fullPage: true });
    expect(await p.evaluate(() => document.documentElement.scrollWidth), `${name} at 390 px`).toBeLessThanOrEqual(390);
    await p.setViewportSize({ width: 1280, height: 900 });
  }
});
