import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { StatsReport } from '../../src/index.js';
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
  // (near-cache figures are checked in near-cache.test.ts).
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
