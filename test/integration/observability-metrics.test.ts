import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import type { IncomingMessage } from 'node:http';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CHANNEL_NAMES, type StatsReport } from '../../src/index.js';
import { request, waitFor, xCache } from '../helpers/app.js';
import { startCachedApp, type CachedApp } from '../helpers/cached-app.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { mixedPlan, sendAll, settled, startObservedApp, type ObservedApp } from '../helpers/observability-app.js';
import { parsePrometheusText, sampleValue, type PromFamily } from '../helpers/prom-text.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

// The Prometheus output parses and carries the expected series. The exposition is read by a strict
// parser of the text format and compared with the cache's own figures.

const P = 'express_resilient_cache_';
const ODD_NAME = 'odd "name" with \\ backslash';

let redis: RedisServer;
let proxy: FaultProxy;
let app: ObservedApp;
before(async () => {
  redis = await startRedisServer();
  proxy = await startFaultProxy({ port: redis.port });
  // Without the near-cache every lookup reads Redis, so the lookup histograms can be checked against the traffic exactly
  // (hits by where they were served from are checked below, on a cache with the near-cache on).
  app = await startObservedApp({ redis: proxy.url, prefix: 'obs-metrics:', redisTimeout: '500ms', breaker: { openFor: '200ms' }, nearCache: false });
  await waitTier((tier) => tier === 'redis', 'the cache to connect');
});
after(async () => {
  await app?.close();
  await proxy?.close();
  await redis?.stop();
});

async function waitTier(done: (tier: string) => boolean, what: string, timeoutMs = 8_000): Promise<void> {
  for (const end = Date.now() + timeoutMs; !done(app.cache.tier);) {
    assert.ok(Date.now() < end, `timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Every requests_total / stores_total / errors_total sample equals the stats, and there is none for unknown names. */
function assertCountersMatch(families: Map<string, PromFamily>, report: StatsReport): void {
  const names = Object.keys(report.names);
  assert.equal(families.get(`${P}requests_total`)?.samples.length, names.length * 4, 'one requests_total sample per name and result');
  for (const name of names) {
    const stats = report.names[name]!;
    for (const [result, value] of [['hit', stats.hits], ['miss', stats.misses], ['stale', stats.stale], ['bypass', stats.bypasses]] as const) {
      assert.equal(sampleValue(families, `${P}requests_total`, { name, result }), value, `requests_total{name="${name}",result="${result}"}`);
    }
    assert.equal(sampleValue(families, `${P}stores_total`, { name }), stats.stores, `stores_total ${name}`);
    assert.equal(sampleValue(families, `${P}errors_total`, { name }), stats.errors, `errors_total ${name}`);
  }
}

function tierGauge(families: Map<string, PromFamily>): Record<string, number> {
  return Object.fromEntries(['redis', 'memory', 'memory-only'].map((state) => [state, sampleValue(families, `${P}tier`, { state })]));
}

test('the exposition parses and carries requests by name and result, the tier gauge and latency histograms by tier', async () => {
  const promClient = await import('prom-client');
  const registry = new promClient.Registry();
  // An app's own metric beside the cache's, as in a real registry.
  const appCounter = new promClient.Counter({ name: 'app_orders_total', help: 'Orders.', registers: [registry] });
  appCounter.inc(3);
  assert.equal(app.cache.metrics(registry), registry);
  assert.doesNotThrow(() => app.cache.metrics(registry), 'registering twice in one registry');

  // One request at a time, so no request waits on another's fill: every miss ran its handler or fetcher.
  await sendAll(app.base, mixedPlan(150, 5, 7), 1);
  await app.cache.getOrSet('odd', () => 'x', { name: ODD_NAME });
  await app.cache.getOrSet('odd', () => 'x', { name: ODD_NAME });
  await settled(app.cache);
  const text = await registry.metrics();
  const families = parsePrometheusText(text);
  const report = app.cache.stats();

  const expected: Record<string, string> = {
    requests_total: 'counter', stores_total: 'counter', errors_total: 'counter', redis_errors_total: 'counter',
    tier: 'gauge', memory_entries: 'gauge', memory_bytes: 'gauge', pending_invalidations: 'gauge',
    lookup_duration_seconds: 'histogram', handler_duration_seconds: 'histogram',
  };
  for (const [name, type] of Object.entries(expected)) {
    const family = families.get(`${P}${name}`);
    assert.ok(family, `${P}${name} missing from:\n${text}`);
    assert.equal(family.type, type, `${name} type`);
    assert.ok(family.help.length > 0, `${name} has HELP`);
  }
  assert.equal(sampleValue(families, 'app_orders_total'), 3, "the app's own metric is untouched");

  assertCountersMatch(families, report);
  assert.equal(sampleValue(families, `${P}requests_total`, { name: ODD_NAME, result: 'hit' }), 1, 'label values are escaped');
  assert.deepEqual(tierGauge(families), { redis: 1, memory: 0, 'memory-only': 0 });
  assert.equal(sampleValue(families, `${P}redis_errors_total`), 0);
  assert.equal(sampleValue(families, `${P}memory_entries`), 0, 'nothing in the memory tier while Redis serves');

  // Lookups: every request that was not bypassed looked up once, in Redis (a route(false) request under app.use(cache)
  // may have looked up before its route said no).
  const redisLookups = sampleValue(families, `${P}lookup_duration_seconds_count`, { tier: 'redis' });
  const nowRequests = report.names['/now']!.bypasses;
  assert.ok(redisLookups >= report.totals.total && redisLookups <= report.totals.total + nowRequests,
    `redis lookups ${redisLookups} not within [${report.totals.total}, ${report.totals.total + nowRequests}]`);
  assert.equal(sampleValue(families, `${P}lookup_duration_seconds_count`, { tier: 'memory' }), 0);
  assert.ok(sampleValue(families, `${P}lookup_duration_seconds_sum`, { tier: 'redis' }) > 0);
  assert.equal(sampleValue(families, `${P}lookup_duration_seconds_bucket`, { tier: 'redis', le: '+Inf' }), redisLookups);
  // Handler time is recorded once per miss that ran the handler or fetcher: with one request at a time, every miss.
  assert.equal(sampleValue(families, `${P}handler_duration_seconds_count`), report.totals.misses);

  // Redis out: the gauge moves to memory, lookups are timed under tier="memory", and the counters still match.
  proxy.refuse(true);
  try {
    await waitTier((tier) => tier !== 'redis', 'the cache to leave Redis');
    await sendAll(app.base, mixedPlan(40, 5, 8), 1);
    await settled(app.cache);
    const down = parsePrometheusText(await registry.metrics());
    assert.deepEqual(tierGauge(down), { redis: 0, memory: 1, 'memory-only': 0 });
    assert.ok(sampleValue(down, `${P}lookup_duration_seconds_count`, { tier: 'memory' }) >= 24, 'memory lookups timed');
    assert.ok(sampleValue(down, `${P}memory_entries`) > 0, 'entries went to memory');
    assertCountersMatch(down, app.cache.stats());
  } finally {
    proxy.refuse(false);
  }
  await waitTier((tier) => tier === 'redis', 'the cache to return to Redis');
  assert.deepEqual(tierGauge(parsePrometheusText(await registry.metrics())), { redis: 1, memory: 0, 'memory-only': 0 });

  // resetMetrics() is for the registry's own metrics: the cache's counters are not the registry's to reset.
  registry.resetMetrics();
  assertCountersMatch(parsePrometheusText(await registry.metrics()), app.cache.stats());
  console.log(`# ${families.size} families, ${[...families.values()].reduce((n, f) => n + f.samples.length, 0)} samples`);
});

test('without a registry, metrics go to prom-client\'s default one', async () => {
  const promClient = await import('prom-client');
  try {
    assert.equal(app.cache.metrics(), promClient.register);
    assert.doesNotThrow(() => app.cache.metrics());
    const families = parsePrometheusText(await promClient.register.metrics());
    assert.equal(families.get(`${P}requests_total`)?.type, 'counter');
  } finally {
    promClient.register.clear();
  }
});

test('the metric prefix is checked', () => {
  assert.throws(() => app.cache.metrics(undefined, { prefix: 'bad prefix' }), { name: 'CacheConfigError' });
});

type Registry = import('prom-client').Registry;

/** The hits_total samples by where the hits were served from. */
function servedFrom(families: Map<string, PromFamily>): Record<string, number> {
  return Object.fromEntries(['near', 'redis', 'memory'].map((from) => [from, sampleValue(families, `${P}hits_total`, { served_from: from })]));
}

function nearCacheGauge(families: Map<string, PromFamily>): Record<string, number> {
  return Object.fromEntries(['live', 'off', 'disabled'].map((state) => [state, sampleValue(families, `${P}near_cache`, { state })]));
}

/** GETs `path` `times` times, one after another, and returns the X-Cache labels. */
async function getTimes(base: string, path: string, times: number): Promise<string[]> {
  const labels: string[] = [];
  for (let i = 0; i < times; i++) {
    const res = await request(base, path);
    assert.equal(res.status, 200);
    labels.push(xCache(res) ?? '');
  }
  return labels;
}

/** A miss on `path`, then waits until its entry is stored (and, with the near-cache live, its copy kept). */
async function fill(cached: CachedApp, path: string): Promise<void> {
  const stores = () => cached.cache.stats().totals.stores;
  const before = stores();
  assert.deepEqual(await getTimes(cached.url, path, 1), ['MISS']);
  await waitFor(() => stores() > before, `the entry of ${path} to be stored`);
}

async function scrape(registry: Registry): Promise<Map<string, PromFamily>> {
  return parsePrometheusText(await registry.metrics());
}

/**
 * Tallies where this app's hits were served from, as a tracer sees them on the lookup channel: the record the scrape
 * must match. (Which of near and Redis serves a given hit can turn on when an invalidation message arrives.)
 */
function tallyServedFrom(url: string): { counts: Record<string, number>; stop(): void } {
  const port = Number(new URL(url).port);
  const counts: Record<string, number> = { near: 0, redis: 0, memory: 0 };
  const listener = (message: unknown) => {
    const { req, result, tier } = message as { req: IncomingMessage; result: string; tier?: string };
    if (req.socket.localPort === port && (result === 'hit' || result === 'stale') && tier) counts[tier] = (counts[tier] ?? 0) + 1;
  };
  diagnosticsChannel.subscribe(CHANNEL_NAMES.lookup, listener);
  return { counts, stop: () => diagnosticsChannel.unsubscribe(CHANNEL_NAMES.lookup, listener) };
}

/** GETs `path` until a hit on it comes from the near-cache: this instance then holds its copy. */
async function untilNearHit(cached: CachedApp, path: string, tally: Record<string, number>): Promise<void> {
  const near = tally['near'] ?? 0;
  await waitFor(async () => {
    assert.deepEqual(await getTimes(cached.url, path, 1), ['HIT']);
    return (tally['near'] ?? 0) > near;
  }, `a near-cache hit on ${path}`);
}

test('hits are told apart by where they were served from (near-cache, Redis, memory), beside refused writes and the near-cache state', async () => {
  const promClient = await import('prom-client');
  const registry = new promClient.Registry();
  const own = await startRedisServer();
  const cached = await startCachedApp({ redis: own.url, prefix: 'obs-served:', redisTimeout: '500ms', breaker: { openFor: '60s' } });
  const tally = tallyServedFrom(cached.url);
  try {
    cached.cache.metrics(registry);
    await waitFor(() => cached.cache.stats().tier.nearCache === 'live', 'the near-cache to go live', 8_000);
    let families = await scrape(registry);
    assert.equal(families.get(`${P}hits_total`)?.type, 'counter');
    assert.equal(families.get(`${P}redis_refused_writes_total`)?.type, 'counter');
    assert.equal(families.get(`${P}near_cache`)?.type, 'gauge');
    assert.deepEqual(nearCacheGauge(families), { live: 1, off: 0, disabled: 0 });
    assert.deepEqual(servedFrom(families), { near: 0, redis: 0, memory: 0 });

    // Once a copy is held, hits cost no Redis call.
    await fill(cached, '/items/1');
    await untilNearHit(cached, '/items/1', tally.counts);
    const nearBefore = tally.counts['near'] ?? 0;
    assert.deepEqual(await getTimes(cached.url, '/items/1', 3), ['HIT', 'HIT', 'HIT']);
    assert.equal(tally.counts['near'], nearBefore + 3, 'a held copy serves every hit');
    assert.deepEqual(servedFrom(await scrape(registry)), tally.counts);

    // Another client touches the key: Redis reports it, the copy goes, and the next hit reads Redis (keeping a new copy).
    const redisBefore = tally.counts['redis'] ?? 0;
    await own.command('PEXPIRE', cached.responseKey('/items/1'), '600000');
    await waitFor(() => cached.memoryEntries() === 0, 'the invalidation message to drop the copy');
    assert.deepEqual(await getTimes(cached.url, '/items/1', 2), ['HIT', 'HIT']);
    assert.ok((tally.counts['redis'] ?? 0) > redisBefore, 'the hit after the change read Redis');
    families = await scrape(registry);
    assert.deepEqual(servedFrom(families), tally.counts);
    assert.equal(sampleValue(families, `${P}redis_refused_writes_total`), 0);

    // Redis full with noeviction: each fill's write is refused (its entry kept in memory), and counted.
    await own.command('SET', 'ballast', 'x'.repeat(2_000_000));
    await own.command('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
    await own.command('CONFIG', 'SET', 'maxmemory', '1mb');
    try {
      for (const path of ['/items/2', '/items/3']) {
        assert.deepEqual(await getTimes(cached.url, path, 1), ['MISS']);
      }
      await waitFor(() => cached.cache.stats().tier.refusedWrites === 2, 'two refused writes in the stats');
      assert.equal(sampleValue(await scrape(registry), `${P}redis_refused_writes_total`), 2);
    } finally {
      await own.command('CONFIG', 'SET', 'maxmemory', '0');
      await own.command('DEL', 'ballast');
    }

    // Redis killed: once the circuit opens, the memory tier alone serves, and the near-cache is off.
    await own.kill();
    await waitFor(async () => {
      await getTimes(cached.url, '/items/none', 1);
      return cached.cache.tier === 'memory';
    }, 'the circuit to open', 8_000);
    const before = { ...tally.counts };
    await fill(cached, '/items/4');
    assert.deepEqual(await getTimes(cached.url, '/items/4', 2), ['HIT', 'HIT']);
    assert.deepEqual(tally.counts, { ...before, memory: (before['memory'] ?? 0) + 2 }, 'both hits came from memory');
    families = await scrape(registry);
    assert.deepEqual(servedFrom(families), tally.counts);
    assert.deepEqual(nearCacheGauge(families), { live: 0, off: 1, disabled: 0 });
    assert.deepEqual(tierGauge(families), { redis: 0, memory: 1, 'memory-only': 0 });
    const report = cached.cache.stats();
    assert.deepEqual(servedFrom(families), report.tier.servedFrom, 'the scrape and the stats agree');
    assert.equal(sampleValue(families, `${P}redis_refused_writes_total`), report.tier.refusedWrites);
  } finally {
    tally.stop();
    await cached.close();
    await own.stop();
  }
});

test('a memory-only cache serves its hits from memory, with the near-cache disabled and no refused writes', async () => {
  const promClient = await import('prom-client');
  const registry = new promClient.Registry();
  const cached = await startCachedApp({});
  try {
    cached.cache.metrics(registry);
    await fill(cached, '/items/1');
    assert.deepEqual(await getTimes(cached.url, '/items/1', 2), ['HIT', 'HIT']);
    const families = await scrape(registry);
    assert.deepEqual(servedFrom(families), { near: 0, redis: 0, memory: 2 });
    assert.deepEqual(nearCacheGauge(families), { live: 0, off: 0, disabled: 1 });
    assert.deepEqual(tierGauge(families), { redis: 0, memory: 0, 'memory-only': 1 });
    assert.equal(sampleValue(families, `${P}redis_refused_writes_total`), 0);
  } finally {
    await cached.close();
  }
});

test('the exposition parser rejects what a scraper would (so "it parses" above means something)', () => {
  const histogram = (buckets: string) => `# HELP h_seconds Time.\n# TYPE h_seconds histogram\n${buckets}h_seconds_sum 1\nh_seconds_count 3\n`;
  assert.doesNotThrow(() => parsePrometheusText(histogram('h_seconds_bucket{le="0.1"} 1\nh_seconds_bucket{le="+Inf"} 3\n')));
  assert.throws(() => parsePrometheusText(histogram('h_seconds_bucket{le="0.1"} 2\nh_seconds_bucket{le="1"} 1\nh_seconds_bucket{le="+Inf"} 3\n')), /below/);
  assert.throws(() => parsePrometheusText(histogram('h_seconds_bucket{le="0.1"} 1\nh_seconds_bucket{le="1"} 3\n')), /\+Inf/);
  assert.throws(() => parsePrometheusText(histogram('h_seconds_bucket{le="0.1"} 1\nh_seconds_bucket{le="+Inf"} 2\n')), /_count/);
  assert.throws(() => parsePrometheusText('x_total 1\n'), /without a HELP\/TYPE/);
  assert.throws(() => parsePrometheusText('# TYPE x counter\nx{a="1} 1\n'), /unterminated/);
  assert.throws(() => parsePrometheusText('# TYPE x counter\nx{a="1"} one\n'), /bad value/);
  const escaped = parsePrometheusText('# TYPE x counter\nx{a="q\\"b\\\\s\\n"} 2\n');
  assert.equal(escaped.get('x')?.samples[0]?.labels['a'], 'q"b\\s\n');
});
