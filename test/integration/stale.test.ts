import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Express, NextFunction, Request, Response } from 'express';
import { waitFor } from '../helpers/app.js';
import { closeAll, startCachedApp, type CachedApp } from '../helpers/cached-app.js';
import { describeLoad, runLoad, type LoadSummary } from '../helpers/load.js';
import { assertResilient, MAX_LATENCY_MS } from '../helpers/outage.js';
import { useRedisBehindProxy } from '../helpers/redis-behind-proxy.js';
import type { ResilientCache } from '../../src/index.js';

// Serving expired entries: staleIfError in place of a failing handler, staleWhileRevalidate with one background
// refresh; per route, from the response's Cache-Control, and for getOrSet. Redis sits behind the fault proxy.

/** A background refresh takes this long: any request that waited on it would blow the latency bound. */
const REFRESH_MS = 300;

const servers = useRedisBehindProxy();
let app: CachedApp | undefined;
/** What the handlers do: answer with this version, or throw. */
let version = 1;
let failing = false;
/** When each handler run started (epoch ms), by path. */
let runStarts: Array<{ path: string; at: number }> = [];

beforeEach(async () => {
  version = 1;
  failing = false;
  runStarts = [];
});

afterEach(async () => {
  await closeAll(app);
  app = undefined;
});

/** `/<kind>/:id` answers `<kind> <id> v<version>`, or throws while `failing`. */
function staleRoutes(expressApp: Express, cache: ResilientCache, count: () => void): void {
  const handler = (delayMs: number) => async (req: Request, res: Response) => {
    count();
    runStarts.push({ path: req.path, at: Date.now() });
    if (delayMs > 0) await sleep(delayMs);
    if (failing) throw new Error('the data source is down');
    res.type('text/plain').send(`${req.path.split('/')[1]} ${req.params.id} v${version}`);
  };
  expressApp.use(cache);
  expressApp.get('/sie/:id', cache.route({ ttl: '300ms', staleIfError: '10s' }), handler(0));
  expressApp.get('/sie-short/:id', cache.route({ ttl: '300ms', staleIfError: '300ms' }), handler(0));
  expressApp.get('/swr/:id', cache.route({ ttl: '300ms', staleWhileRevalidate: '10s' }), handler(REFRESH_MS));
  expressApp.get('/cc-sie/:id', (_req, res, next) => {
    res.set('Cache-Control', 'max-age=1, stale-if-error=30');
    next();
  }, handler(0));
  expressApp.get('/cc-swr/:id', (_req, res, next) => {
    res.set('Cache-Control', 'max-age=1, stale-while-revalidate=30');
    next();
  }, handler(REFRESH_MS));
  // Express's default handler would print every thrown error; a plain 500 is all these tests need.
  expressApp.use((_error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    res.status(500).type('text/plain').send('handler failed');
  });
}

/** Body check: `<kind> <id> v<n>` for the path `/<kind>/<id>`, any version. */
function bodyOk(path: string, body: string): boolean {
  const [, kind, id] = path.split('/');
  return new RegExp(`^${kind} ${id} v\\d+$`).test(body);
}

async function startApp(): Promise<CachedApp> {
  const cached = (app = await startCachedApp({ redis: servers.proxy.url, redisTimeout: '50ms' }, staleRoutes));
  await waitFor(() => cached.cache.tier === 'redis', 'cache never reached Redis', 5000);
  return cached;
}

async function get(cached: CachedApp, path: string): Promise<{ status: number; body: string; xCache: string | null }> {
  const res = await fetch(`${cached.url}${path}`);
  return { status: res.status, body: await res.text(), xCache: res.headers.get('x-cache') };
}

/** Requests `path` and waits until its entry is in Redis. */
async function fill(cached: CachedApp, path: string): Promise<void> {
  assert.equal((await get(cached, path)).xCache, 'MISS');
  await waitFor(async () => (await servers.redis.command('EXISTS', cached.responseKey(path))) === '1', `${path} not stored`, 2000);
}

function load(cached: CachedApp, paths: string[], durationMs: number): Promise<LoadSummary> {
  return runLoad({ baseUrl: cached.url, paths, expectBody: bodyOk, workers: 8, durationMs });
}

test('staleIfError: a throwing handler inside the window is answered with the stale body and X-Cache: STALE', async (t) => {
  const cached = await startApp();
  await fill(cached, '/sie/a');
  await sleep(400);
  failing = true;
  const runs = cached.handlerRuns();
  const summary = await load(cached, ['/sie/a'], 1000);
  for (const line of describeLoad(summary).split('\n')) t.diagnostic(line);
  assertResilient(summary, MAX_LATENCY_MS);
  assert.deepEqual(summary.xCache, { STALE: summary.count });
  assert.ok(summary.records.every((r) => r.status === 200), 'a response was not 200');
  // Every one of them tried the handler (coalesced), none got its error.
  assert.ok(cached.handlerRuns() > runs, 'the handler was not tried');
  // The error was not stored over the stale entry: once the handler recovers it is a plain miss and a new version.
  failing = false;
  version = 2;
  const next = await get(cached, '/sie/a');
  assert.deepEqual([next.status, next.xCache, next.body], [200, 'MISS', 'sie a v2']);
});

test('staleIfError: outside the window the error passes through and nothing is stored', async () => {
  const cached = await startApp();
  await fill(cached, '/sie-short/b');
  // ttl 300 ms + staleIfError 300 ms: by 700 ms the entry is past both.
  await sleep(700);
  failing = true;
  for (let i = 0; i < 3; i++) {
    const res = await get(cached, '/sie-short/b');
    assert.equal(res.status, 500);
    assert.notEqual(res.xCache, 'STALE');
  }
  assert.equal(await servers.redis.command('EXISTS', cached.responseKey('/sie-short/b')), '0');
  failing = false;
  assert.equal((await get(cached, '/sie-short/b')).xCache, 'MISS');
});

test('staleWhileRevalidate: STALE at once with the old body, one background refresh, then HIT with the new', async (t) => {
  const cached = await startApp();
  await fill(cached, '/swr/c');
  await sleep(400);
  version = 2;
  runStarts = [];
  const summary = await load(cached, ['/swr/c'], 1200);
  for (const line of describeLoad(summary).split('\n')) t.diagnostic(line);
  assertResilient(summary, MAX_LATENCY_MS);
  const records = [...summary.records].sort((a, b) => a.startedAt - b.startedAt);
  const first = records[0];
  assert.ok(first, 'no requests');
  assert.equal(first.xCache, 'STALE');
  assert.ok(first.latencyMs < REFRESH_MS, `the first request waited for the refresh (${first.latencyMs} ms)`);
  const firstNew = records.find((r) => r.xCache === 'HIT');
  assert.ok(firstNew, 'never a HIT with the refreshed entry');
  t.diagnostic(`first HIT ${Math.round(firstNew.endedAt - first.startedAt)} ms after the first STALE`);
  // One refresh until the new entry was served (the new entry expires 300 ms later and is refreshed again: fine).
  const refreshes = runStarts.filter((run) => run.at <= firstNew.endedAt);
  assert.equal(refreshes.length, 1, `${refreshes.length} refreshes ran while the entry was stale`);
  assert.ok(records.filter((r) => r.xCache === 'STALE').length > 1, 'expected STALE while the refresh ran');
  const staleUntilNew = records.filter((r) => r.xCache === 'STALE' && r.endedAt <= firstNew.endedAt);
  assert.ok(staleUntilNew.every((r) => r.body === 'swr c v1'), 'a STALE answer before the refresh landed was not the old body');
  assert.ok(records.filter((r) => r.xCache === 'HIT').every((r) => r.body === 'swr c v2'), 'a HIT did not have the new body');
  // Requests started after the first new HIT, while that entry is fresh, are HITs with the new body.
  const whileFresh = records.filter((r) => r.startedAt > firstNew.endedAt && r.endedAt < firstNew.endedAt + 200);
  assert.ok(whileFresh.length > 0 && whileFresh.every((r) => r.xCache === 'HIT'), 'not a HIT while the refreshed entry was fresh');
  const served = await get(cached, '/swr/c');
  assert.equal(served.body, 'swr c v2');
});

test('Cache-Control stale-if-error and stale-while-revalidate on the response set the windows', async () => {
  const cached = await startApp();
  await Promise.all([fill(cached, '/cc-sie/d'), fill(cached, '/cc-swr/e')]);
  await sleep(1100);
  failing = true;
  const stale = await get(cached, '/cc-sie/d');
  assert.deepEqual([stale.status, stale.xCache, stale.body], [200, 'STALE', 'cc-sie d v1']);
  failing = false;
  version = 2;
  const started = performance.now();
  const swr = await get(cached, '/cc-swr/e');
  assert.deepEqual([swr.status, swr.xCache, swr.body], [200, 'STALE', 'cc-swr e v1']);
  assert.ok(performance.now() - started < REFRESH_MS, 'the stale answer waited for the refresh');
  await waitFor(async () => (await get(cached, '/cc-swr/e')).body === 'cc-swr e v2', 'the refreshed body', 2000);
});

test('getOrSet staleIfError: a failing fetch inside the window returns the stale value; outside, the error', async () => {
  const cached = await startApp();
  const { cache } = cached;
  let fetches = 0;
  const fetchValue = async () => {
    fetches++;
    // A data source that fails after a while, as one timing out does: concurrent callers overlap with the fetch.
    await sleep(50);
    if (failing) throw new Error('the data source is down');
    return { version };
  };
  await cache.getOrSet('sie', fetchValue, { ttl: '300ms', staleIfError: '10s' });
  await cache.getOrSet('sie-short', fetchValue, { ttl: '300ms', staleIfError: '300ms' });
  await waitFor(async () => (await servers.redis.command('EXISTS', cached.valueKey('sie'), cached.valueKey('sie-short'))) === '2', 'the entries to be stored', 2000);
  await sleep(700);
  failing = true;
  version = 2;
  fetches = 0;
  const values = await Promise.all(Array.from({ length: 100 }, () => cache.getOrSet('sie', fetchValue, { ttl: '300ms', staleIfError: '10s' })));
  assert.ok(values.every((v) => v.version === 1), 'a caller did not get the stale value');
  assert.equal(fetches, 1, 'concurrent callers share one fetch');
  await assert.rejects(cache.getOrSet('sie-short', fetchValue, { ttl: '300ms', staleIfError: '300ms' }), /data source is down/);
  assert.equal(await servers.redis.command('EXISTS', cached.valueKey('sie-short')), '0');
});

test('getOrSet staleWhileRevalidate: stale value at once, one background fetch, then the new value', async () => {
  const cached = await startApp();
  const { cache } = cached;
  const options = { ttl: '300ms', staleWhileRevalidate: '10s' } as const;
  let fetches = 0;
  const fetchValue = async () => {
    fetches++;
    await sleep(REFRESH_MS);
    return { version };
  };
  await cache.getOrSet('swr', fetchValue, options);
  await waitFor(async () => (await servers.redis.command('EXISTS', cached.valueKey('swr'))) === '1', 'the entries to be stored', 2000);
  await sleep(400);
  version = 2;
  fetches = 0;
  const started = performance.now();
  const values = await Promise.all(Array.from({ length: 100 }, () => cache.getOrSet('swr', fetchValue, options)));
  const tookMs = performance.now() - started;
  assert.ok(values.every((v) => v.version === 1), 'a caller did not get the stale value');
  assert.ok(tookMs < MAX_LATENCY_MS, `stale values took ${tookMs} ms`);
  await waitFor(async () => (await cache.getOrSet('swr', fetchValue, options)).version === 2, 'the refreshed value', 2000);
  assert.equal(fetches, 1);
});
