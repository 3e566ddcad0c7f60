import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import express, { type Express, type Request, type Response } from 'express';
import { chromium, type Browser, type Page } from 'playwright-core';
import { resilientCache, statsRouter } from '../../src/index.js';
import { listen, waitFor } from '../helpers/app.js';
import { startCachedApp } from '../helpers/cached-app.js';
import { startRedisServer } from '../helpers/redis-server.js';

// The stats dashboard in a real headless Chromium against the real package (memory-only caches, and one on a
// real redis-server): the page must load cleanly, fetch nothing from elsewhere, and follow the figures as traffic
// arrives.

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

/** The number in the element with this test id (commas dropped), or NaN when it shows none. */
async function countOf(page: Page, testId: string): Promise<number> {
  const text = await page.getByTestId(testId).innerText();
  return /^[\d,]+$/.test(text) ? Number(text.replace(/,/g, '')) : NaN;
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

    // A memory-only cache: every hit came from memory, and there is no near-cache and no Redis to refuse writes.
    await eventually(async () => (await countOf(page, 'served-memory')) === before + 8, 'the memory hits on the page');
    assert.equal(await countOf(page, 'served-near'), 0);
    assert.equal(await countOf(page, 'served-redis'), 0);
    assert.equal(await page.getByTestId('served-memory-label').innerText(), 'Memory');
    assert.equal(await page.getByTestId('near-cache-state').innerText(), 'disabled');
    assert.match(await page.getByTestId('near-cache-hint').innerText(), /no Redis/);
    assert.equal(await page.getByTestId('refused-writes-line').isVisible(), false);

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

test('near-cache hits are shown apart from Redis and fallback hits, with the near-cache state and refused writes', async () => {
  const redis = await startRedisServer();
  const app = await startCachedApp({ redis: redis.url, prefix: 'dash:', redisTimeout: '500ms', breaker: { openFor: '60s' } }, (app, cache) => {
    app.get('/items/:id', cache.route({ name: 'items' }), item);
    app.use('/stats', statsRouter(cache));
  });
  const { page, problems } = await openPage(app.url);
  try {
    const served = () => app.cache.stats().tier.servedFrom;
    /** Until the page shows the stats' servedFrom figures (traffic has stopped, so they hold still). */
    const pageShowsServed = () => eventually(async () => {
      const now = served();
      return (await countOf(page, 'served-near')) === now.near && (await countOf(page, 'served-redis')) === now.redis
        && (await countOf(page, 'served-memory')) === now.memory;
    }, `the page to show ${JSON.stringify(served())}`);
    await waitFor(() => app.cache.stats().tier.nearCache === 'live', 'the near-cache to go live', 8_000);
    await page.goto(`${app.url}/stats/?interval=200`);
    await page.getByTestId('near-cache-state').filter({ hasText: /^live$/ }).waitFor(WAIT);
    assert.equal(await page.getByTestId('refused-writes').innerText(), '0');
    assert.equal(await page.getByTestId('served-memory-label').innerText(), 'Memory fallback');

    // Hits from the copy this instance keeps, then, after another client changed the key, from Redis.
    await get(app.url, '/items/1', 4);
    await waitFor(() => served().near > 0, 'a near-cache hit');
    await redis.command('PEXPIRE', app.responseKey('/items/1'), '600000');
    await waitFor(() => app.memoryEntries() === 0, 'the invalidation message to drop the copy');
    await get(app.url, '/items/1', 2);
    assert.ok(served().redis > 0, 'the hit after the change read Redis');
    await pageShowsServed();
    assert.match(await page.getByTestId('served-near-share').innerText(), /^\d+(\.\d)? %$/);

    // Redis full: the fills' writes are refused, and the page says so.
    await redis.command('SET', 'ballast', 'x'.repeat(2_000_000));
    await redis.command('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
    await redis.command('CONFIG', 'SET', 'maxmemory', '1mb');
    try {
      await get(app.url, '/items/2');
      await get(app.url, '/items/3');
      await waitFor(() => app.cache.stats().tier.refusedWrites === 2, 'two refused writes in the stats');
      await page.getByTestId('refused-writes').filter({ hasText: /^2$/ }).waitFor(WAIT);
      assert.match(await page.getByTestId('refused-writes-line').innerText(), /refusing now|kept in this instance.s memory/);
      // Once no write has been refused for a poll, the line says where those entries went, still marked.
      await page.getByTestId('refused-writes-hint').filter({ hasText: /kept in this instance.s memory/ }).waitFor(WAIT);
      assert.match(await page.getByTestId('refused-writes').getAttribute('class') ?? '', /\btone-warn\b/);
    } finally {
      await redis.command('CONFIG', 'SET', 'maxmemory', '0');
      await redis.command('DEL', 'ballast');
    }

    // Redis gone: the near-cache goes off and hits come from the memory fallback.
    await redis.kill();
    await waitFor(async () => {
      await get(app.url, '/items/none');
      return app.cache.tier === 'memory';
    }, 'the circuit to open', 8_000);
    await get(app.url, '/items/4', 3);
    assert.equal(served().memory, 2, 'a miss, then two hits from memory');
    await page.getByTestId('near-cache-state').filter({ hasText: /^off$/ }).waitFor(WAIT);
    await pageShowsServed();
    assert.equal(await page.getByTestId('tier-state').getAttribute('data-state'), 'memory');
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
    await app.close();
    await redis.stop();
  }
});
