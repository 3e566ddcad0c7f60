import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import express, { type Express, type Request, type Response } from 'express';
import { chromium, type Browser, type Page } from 'playwright-core';
import { resilientCache, statsRouter } from '../../src/index.js';
import { listen } from '../helpers/app.js';

// The stats dashboard in a real headless Chromium against the real package (memory-only cache): the page
// must load cleanly, fetch nothing from elsewhere, and follow the figures as traffic arrives.

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const WAIT = { timeout: 20_000 };

let browser: Browser;
before(async () => {
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
});
after(async () => {
  await browser?.close();
});

interface App {
  base: string;
  cache: ReturnType<typeof resilientCache>;
  close(): Promise<void>;
}

/** An Express app with a memory-only cache, the given routes, and the stats router on /stats. */
async function startApp(routes: (app: Express, cache: App['cache']) => void): Promise<App> {
  const cache = resilientCache({});
  const app = express();
  routes(app, cache);
  app.use('/stats', statsRouter(cache));
  const running = await listen(app);
  return {
    base: running.base,
    cache,
    async close() {
      await running.close();
      await cache.close();
    },
  };
}

function item(req: Request, res: Response): void {
  res.json({ id: req.params.id, name: `item ${String(req.params.id)}` });
}

async function get(base: string, path: string, times = 1): Promise<void> {
  for (let i = 0; i < times; i++) {
    const res = await fetch(base + path);
    assert.equal(res.status, 200);
    await res.arrayBuffer();
  }
}

/** A page that records console errors, page errors, failed requests and requests to other origins. */
async function openPage(base: string): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems: string[] = [];
  page.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`); });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('requestfailed', (req) => problems.push(`failed request: ${req.url()} ${req.failure()?.errorText ?? ''}`));
  page.on('request', (req) => {
    const url = req.url();
    if (!url.startsWith(`${base}/`) && !url.startsWith('data:')) problems.push(`external request: ${url}`);
  });
  return { page, problems };
}

/** The hits shown for a name (a plain one: it goes into a CSS selector), or -1 while its row is missing. */
async function hitsOf(page: Page, name: string): Promise<number> {
  const cell = page.locator(`[data-testid="name-row"][data-name="${name}"] [data-testid="hits"]`);
  if ((await cell.count()) === 0) return -1;
  return Number((await cell.innerText()).replace(/,/g, ''));
}

/** Polls from the test side: the browser-side helpers would need DOM types this project does not load. */
async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + WAIT.timeout;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(50);
  }
}

async function waitForHits(page: Page, name: string, atLeast: number): Promise<void> {
  await eventually(async () => (await hitsOf(page, name)) >= atLeast, `${atLeast} hits for ${name} on the page`);
}

test('the dashboard shows the live figures of the real cache without errors or outside requests', async () => {
  const app = await startApp((app, cache) => {
    app.get('/items/:id', cache.route({ name: 'items' }), item);
  });
  const { page, problems } = await openPage(app.base);
  try {
    const response = await page.goto(`${app.base}/stats/?interval=200`);
    assert.equal(response?.status(), 200);
    assert.match(response?.headers()['content-type'] ?? '', /text\/html/);
    await page.locator('[data-testid="last-updated"]').filter({ hasNotText: 'never' }).waitFor(WAIT);
    assert.equal(await page.locator('[data-testid="tier-state"]').getAttribute('data-state'), 'memory-only');

    await get(app.base, '/items/1', 2);   // a miss, then a hit
    await get(app.base, '/items/2');
    const row = page.locator('[data-testid="name-row"][data-name="items"]');
    await row.waitFor(WAIT);
    await waitForHits(page, 'items', 1);
    const before = await hitsOf(page, 'items');

    await get(app.base, '/items/1', 5);
    await get(app.base, '/items/2', 3);
    await waitForHits(page, 'items', before + 8);
    assert.equal(await hitsOf(page, 'items'), before + 8);
    assert.equal(await row.locator('[data-testid="misses"]').innerText(), '2');
    assert.match(await row.locator('[data-testid="hit-rate"]').innerText(), /^\d+(\.\d)? %$/);

    // Hit-rate chart: the name appears in its legend once its traffic has been seen between two polls.
    await page.locator('[data-testid="chart-hitrate"] .legend').getByText('items', { exact: true }).waitFor(WAIT);
    assert.equal(await page.locator('[data-testid="error-state"]').isVisible(), false);
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
    await app.close();
  }
});

test('route names are shown as text, never run as markup', async () => {
  const name = '<img src=x onerror="window.__injected=1">';
  const app = await startApp((app, cache) => {
    app.get('/odd/:id', cache.route({ name }), item);
  });
  const { page, problems } = await openPage(app.base);
  try {
    await get(app.base, '/odd/1', 2);
    await page.goto(`${app.base}/stats/?interval=200`);
    const row = page.locator('[data-testid="name-row"]').filter({ hasText: name });
    await row.waitFor(WAIT);
    assert.equal(await row.getAttribute('data-name'), name);
    assert.equal(await page.locator('[data-testid="names-table"] img').count(), 0);
    assert.equal(await page.evaluate('typeof window.__injected'), 'undefined');
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
    await app.close();
  }
});

test('a failing stats endpoint shows an error state that clears by itself', async () => {
  let failing = false;
  const app = await startApp((app, cache) => {
    app.get('/items/:id', cache.route({ name: 'items' }), item);
    app.use('/stats', (req, res, next) => {
      if (failing && req.accepts(['html', 'json']) === 'json') res.status(503).json({ error: 'down for the test' });
      else next();
    });
  });
  const { page, problems } = await openPage(app.base);
  try {
    await get(app.base, '/items/1', 2);
    await page.goto(`${app.base}/stats/?interval=200`);
    await page.locator('[data-testid="name-row"][data-name="items"]').waitFor(WAIT);
    const banner = page.locator('[data-testid="error-state"]');
    assert.equal(await banner.isVisible(), false);

    failing = true;
    await banner.waitFor({ state: 'visible', ...WAIT });
    assert.match(await banner.innerText(), /503/);

    failing = false;
    await get(app.base, '/items/1', 3);
    await banner.waitFor({ state: 'hidden', ...WAIT });
    await waitForHits(page, 'items', 4);
    // The only problems allowed are the browser's own reports of the 503s it was given.
    assert.deepEqual(problems.filter((p) => !/status of 503/.test(p)), []);
  } finally {
    await page.close();
    await app.close();
  }
});
