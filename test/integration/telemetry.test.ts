import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { IncomingMessage } from 'node:http';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Meter } from '@opentelemetry/api';
import {
  DataPointType, MeterProvider, MetricReader, type DataPoint, type Histogram, type MetricData, type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import {
  CHANNEL_NAMES, resilientCache, telemetryHistograms, TELEMETRY_ATTRIBUTES as A, type StatsReport, type TelemetryHistograms,
} from '../../src/index.js';
import { request, waitFor } from '../helpers/app.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { mixedPlan, sendAll, settled, startObservedApp, type ObservedApp } from '../helpers/observability-app.js';
import { parsePrometheusText, sampleValue } from '../helpers/prom-text.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

// The OpenTelemetry export, read through the metrics SDK as an application would, compared with the cache's own
// figures; and the diagnostics channels, as a tracer would subscribe to them.

/** A reader that collects when told to, as a periodic or pull exporter would. */
class OnDemandReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

let redis: RedisServer;
let proxy: FaultProxy;
let app: ObservedApp;
let reader: OnDemandReader;
let provider: MeterProvider;
let histograms: TelemetryHistograms;
/** The meter the cache was given, recording which of its methods the cache calls. */
let meter: Meter;
const meterCalls: string[] = [];

before(async () => {
  redis = await startRedisServer();
  proxy = await startFaultProxy({ port: redis.port });
  app = await startObservedApp({ redis: proxy.url, prefix: 'otel:', redisTimeout: '500ms', breaker: { openFor: '200ms' } });
  histograms = telemetryHistograms();
  reader = new OnDemandReader({ metricProducers: [histograms] });
  provider = new MeterProvider({ readers: [reader] });
  meter = recording(provider.getMeter('express-resilient-cache'), meterCalls);
  await waitFor(() => app.cache.tier === 'redis', 'the cache to connect', 8_000);
});
after(async () => {
  await provider?.shutdown();
  await app?.close();
  await proxy?.close();
  await redis?.stop();
});

function recording(target: Meter, calls: string[]): Meter {
  return new Proxy(target, {
    get(object, property) {
      const value: unknown = Reflect.get(object, property);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(String(property));
        return (value as (...a: unknown[]) => unknown).apply(object, args);
      };
    },
  });
}

async function collect(): Promise<ResourceMetrics> {
  const { resourceMetrics, errors } = await reader.collect();
  assert.deepEqual(errors, []);
  return resourceMetrics;
}

function metric(resource: ResourceMetrics, name: string): MetricData {
  const found = resource.scopeMetrics.flatMap((scope) => scope.metrics).filter((m) => m.descriptor.name === name);
  assert.equal(found.length, 1, `one ${name} stream, in: ${resource.scopeMetrics.flatMap((s) => s.metrics.map((m) => m.descriptor.name)).join(', ')}`);
  return found[0]!;
}

/** The one point of `name` whose attributes are exactly `attributes`. */
function point(resource: ResourceMetrics, name: string, attributes: Record<string, string> = {}): DataPoint<number | Histogram> {
  const points = (metric(resource, name).dataPoints as DataPoint<number | Histogram>[])
    .filter((p) => JSON.stringify(sorted(p.attributes)) === JSON.stringify(sorted(attributes)));
  assert.equal(points.length, 1, `${name} ${JSON.stringify(attributes)}`);
  return points[0]!;
}

function value(resource: ResourceMetrics, name: string, attributes?: Record<string, string>): number {
  const v = point(resource, name, attributes).value;
  assert.equal(typeof v, 'number');
  return v as number;
}

function sorted(attributes: object): [string, unknown][] {
  return Object.entries(attributes).sort(([a], [b]) => a.localeCompare(b));
}

/** Every point's value by metric and attributes, without timestamps: what two collections must agree on. */
function values(resource: ResourceMetrics): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const m of resource.scopeMetrics.flatMap((scope) => scope.metrics)) {
    for (const p of m.dataPoints as DataPoint<unknown>[]) out[`${m.descriptor.name} ${JSON.stringify(sorted(p.attributes))}`] = p.value;
  }
  return out;
}

const P = 'express_resilient_cache';
/** The instruments as the README documents them: unit, kind, attribute keys. */
const DOCUMENTED: Record<string, { unit: string; kind: 'counter' | 'updown' | 'histogram'; attributes: string[] }> = {
  [`${P}.requests`]: { unit: '{request}', kind: 'counter', attributes: [A.name, A.result] },
  [`${P}.stores`]: { unit: '{entry}', kind: 'counter', attributes: [A.name] },
  [`${P}.errors`]: { unit: '{request}', kind: 'counter', attributes: [A.name] },
  [`${P}.redis.errors`]: { unit: '{error}', kind: 'counter', attributes: [] },
  [`${P}.hits`]: { unit: '{hit}', kind: 'counter', attributes: [A.servedFrom] },
  [`${P}.redis.refused_writes`]: { unit: '{write}', kind: 'counter', attributes: [] },
  [`${P}.tier.status`]: { unit: '1', kind: 'updown', attributes: [A.state] },
  [`${P}.near_cache.status`]: { unit: '1', kind: 'updown', attributes: [A.nearCacheState] },
  [`${P}.memory.entry.count`]: { unit: '{entry}', kind: 'updown', attributes: [] },
  [`${P}.memory.usage`]: { unit: 'By', kind: 'updown', attributes: [] },
  [`${P}.invalidation.pending`]: { unit: '{invalidation}', kind: 'updown', attributes: [] },
  [`${P}.lookup.duration`]: { unit: 's', kind: 'histogram', attributes: [A.tier] },
  [`${P}.handler.duration`]: { unit: 's', kind: 'histogram', attributes: [] },
};

/** Every per-name and cache-wide value equals the report's. */
function assertMatchesStats(resource: ResourceMetrics, report: StatsReport): void {
  const names = Object.keys(report.names);
  assert.equal(metric(resource, `${P}.requests`).dataPoints.length, names.length * 4, 'one requests point per name and result');
  for (const name of names) {
    const stats = report.names[name]!;
    for (const [result, count] of [['hit', stats.hits], ['miss', stats.misses], ['stale', stats.stale], ['bypass', stats.bypasses]] as const) {
      assert.equal(value(resource, `${P}.requests`, { [A.name]: name, [A.result]: result }), count, `requests ${name} ${result}`);
    }
    assert.equal(value(resource, `${P}.stores`, { [A.name]: name }), stats.stores, `stores ${name}`);
    assert.equal(value(resource, `${P}.errors`, { [A.name]: name }), stats.errors, `errors ${name}`);
  }
  assert.equal(value(resource, `${P}.redis.errors`), report.tier.redisErrors);
  assert.deepEqual(servedFrom(resource), report.tier.servedFrom, 'hits by where they were served from');
  assert.equal(value(resource, `${P}.redis.refused_writes`), report.tier.refusedWrites);
  for (const state of ['redis', 'memory', 'memory-only']) {
    assert.equal(value(resource, `${P}.tier.status`, { [A.state]: state }), report.tier.state === state ? 1 : 0, `tier ${state}`);
  }
  assert.equal(nearCacheState(resource), report.tier.nearCache);
  assert.equal(value(resource, `${P}.memory.entry.count`), report.tier.memoryEntries);
  assert.equal(value(resource, `${P}.memory.usage`), report.tier.memoryBytes);
  assert.equal(value(resource, `${P}.invalidation.pending`), report.tier.pendingInvalidations);
}

function servedFrom(resource: ResourceMetrics): Record<string, number> {
  return Object.fromEntries(['near', 'redis', 'memory'].map((from) => [from, value(resource, `${P}.hits`, { [A.servedFrom]: from })]));
}

/** The one near-cache state at 1, after checking the others are 0. */
function nearCacheState(resource: ResourceMetrics): string {
  const states = ['live', 'off', 'disabled'];
  const on = states.filter((state) => value(resource, `${P}.near_cache.status`, { [A.nearCacheState]: state }) === 1);
  const off = states.filter((state) => value(resource, `${P}.near_cache.status`, { [A.nearCacheState]: state }) === 0);
  assert.equal(on.length + off.length, states.length, 'near-cache status values are 0 or 1');
  assert.equal(on.length, 1, `one near-cache state at 1, not ${on.join(', ')}`);
  return on[0]!;
}

test('with no subscriber, nothing is published on the diagnostics channels', async () => {
  let published = 0;
  const channels = Object.values(CHANNEL_NAMES).map((name) => diagnosticsChannel.channel(name));
  for (const channel of channels) {
    assert.equal(channel.hasSubscribers, false, String(channel.name));
    channel.publish = () => void published++;
  }
  try {
    await sendAll(app.base, mixedPlan(30, 3, 11), 1);
    await settled(app.cache);
  } finally {
    for (const channel of channels) delete (channel as { publish?: unknown }).publish;
  }
  assert.ok(app.cache.stats().totals.hits > 0 && app.cache.stats().totals.misses > 0, 'hits and misses went through');
  assert.equal(published, 0, 'publish() was never called: no message was built');
});

test('telemetry(meter) exports the stats\' figures, with the documented names, units and attributes', async () => {
  const promClient = await import('prom-client');
  const registry = new promClient.Registry();
  app.cache.metrics(registry);
  assert.equal(app.cache.telemetry(meter, { histograms }), meter);
  const registeredWith = [...meterCalls];
  assert.deepEqual(new Set(registeredWith), new Set(['createObservableCounter', 'createObservableUpDownCounter', 'addBatchObservableCallback']),
    'only observable instruments: nothing to record per request');
  assert.equal(registeredWith.filter((call) => call === 'addBatchObservableCallback').length, 1);
  app.cache.telemetry(meter, { histograms });
  assert.deepEqual(meterCalls, registeredWith, 'a second telemetry(meter) registers nothing');

  await sendAll(app.base, mixedPlan(120, 5, 3), 1);
  await app.cache.getOrSet('otel', () => 'x', { name: 'otel value' });
  await settled(app.cache);
  assert.deepEqual(meterCalls, registeredWith, 'traffic calls nothing on the meter');
  const resource = await collect();
  const report = app.cache.stats();

  assert.deepEqual({ ...A }, {
    name: `${P}.name`, result: `${P}.result`, tier: `${P}.lookup.tier`, state: `${P}.tier.state`,
    servedFrom: `${P}.served_from`, nearCacheState: `${P}.near_cache.state`,
  }, 'the attribute keys the README names');
  for (const [name, documented] of Object.entries(DOCUMENTED)) {
    const m = metric(resource, name);
    assert.equal(m.descriptor.unit, documented.unit, `${name} unit`);
    assert.ok(m.descriptor.description.length > 0, `${name} has a description`);
    if (documented.kind === 'histogram') assert.equal(m.dataPointType, DataPointType.HISTOGRAM, `${name} is a histogram`);
    else {
      assert.equal(m.dataPointType, DataPointType.SUM, `${name} is a sum`);
      assert.equal(m.dataPointType === DataPointType.SUM && m.isMonotonic, documented.kind === 'counter', `${name} monotonic`);
    }
    for (const p of m.dataPoints) assert.deepEqual(Object.keys(p.attributes).sort(), [...documented.attributes].sort(), `${name} attributes`);
  }
  const scopes = resource.scopeMetrics.map((scope) => scope.scope.name);
  assert.deepEqual(new Set(scopes), new Set(['express-resilient-cache']), 'histograms in the meter\'s scope (by default)');
  assertMatchesStats(resource, report);
  assert.equal(value(resource, `${P}.requests`, { [A.name]: 'otel value', [A.result]: 'miss' }), 1);
  assert.equal(nearCacheState(resource), 'live');
  assert.ok((servedFrom(resource)['near'] ?? 0) > 0, 'hits were served from near-cache copies');

  // The histograms are the ones Prometheus reads: same buckets, counts and sums, in seconds.
  const families = parsePrometheusText(await registry.metrics());
  for (const [otelName, promName, attributes, labels] of [
    [`${P}.lookup.duration`, 'express_resilient_cache_lookup_duration_seconds', { [A.tier]: 'redis' }, { tier: 'redis' }],
    [`${P}.lookup.duration`, 'express_resilient_cache_lookup_duration_seconds', { [A.tier]: 'memory' }, { tier: 'memory' }],
    [`${P}.handler.duration`, 'express_resilient_cache_handler_duration_seconds', {}, {}],
  ] as const) {
    const h = point(resource, otelName, attributes).value as Histogram;
    assert.equal(h.count, sampleValue(families, `${promName}_count`, labels), `${otelName} ${JSON.stringify(labels)} count`);
    assert.ok(Math.abs((h.sum ?? NaN) - sampleValue(families, `${promName}_sum`, labels)) < 1e-9, `${otelName} sum`);
    assert.equal(h.buckets.counts.length, h.buckets.boundaries.length + 1);
    assert.equal(h.buckets.counts.reduce((a, b) => a + b, 0), h.count);
    let cumulative = 0;
    h.buckets.boundaries.forEach((upper, i) => {
      cumulative += h.buckets.counts[i]!;
      assert.equal(cumulative, sampleValue(families, `${promName}_bucket`, { ...labels, le: String(upper) }), `${otelName} le=${upper}`);
    });
  }
  const redisLookups = point(resource, `${P}.lookup.duration`, { [A.tier]: 'redis' }).value as Histogram;
  assert.ok(redisLookups.count >= report.totals.misses && (redisLookups.max ?? 0) > 0, 'Redis lookups timed');
  // One request at a time, so every miss ran its handler or fetcher.
  assert.equal((point(resource, `${P}.handler.duration`).value as Histogram).count, report.totals.misses);
});

test('nothing is recorded per request: figures move only with traffic, and are read when collected', async () => {
  const first = await collect();
  const second = await collect();
  assert.deepEqual(values(second), values(first), 'two collections with no traffic between them agree');
  const calls = meterCalls.length;
  const before = value(second, `${P}.requests`, { [A.name]: '/now', [A.result]: 'bypass' });
  for (let i = 0; i < 5; i++) assert.equal((await request(app.base, '/now')).status, 200);
  await settled(app.cache);
  assert.equal(meterCalls.length, calls);
  const third = await collect();
  assert.equal(value(third, `${P}.requests`, { [A.name]: '/now', [A.result]: 'bypass' }), before + 5);
  assertMatchesStats(third, app.cache.stats());
});

test('options are checked: a meter, known options, one cache per histograms producer', () => {
  assert.throws(() => app.cache.telemetry({} as Meter), { name: 'CacheConfigError', message: /Meter/ });
  assert.throws(() => app.cache.telemetry(meter, { histogram: histograms } as never), { name: 'CacheConfigError', message: /did you mean `histograms`/ });
  assert.throws(() => app.cache.telemetry(meter, { histograms: { collect: histograms.collect } as TelemetryHistograms }),
    { name: 'CacheConfigError', message: /telemetryHistograms\(\)/ });
  const other = resilientCache();
  try {
    assert.throws(() => other.telemetry(new MeterProvider().getMeter('other'), { histograms }), { name: 'CacheConfigError', message: /per cache/ });
  } finally {
    void other.close();
  }
  assert.throws(() => telemetryHistograms({ scope: '' }), { name: 'CacheConfigError' });
});

test('the diagnostics channels tell a miss, its fill and store, then a hit; no request text in any message', async () => {
  const seen: { channel: string; message: Record<string, unknown> }[] = [];
  const listeners = Object.values(CHANNEL_NAMES).map((name) => {
    const listener = (message: unknown) => void seen.push({ channel: name, message: message as Record<string, unknown> });
    diagnosticsChannel.subscribe(name, listener);
    return () => diagnosticsChannel.unsubscribe(name, listener);
  });
  try {
    const path = '/items/channel-secret-41';
    assert.equal((await request(app.base, path)).status, 200);
    await waitFor(() => seen.some((s) => s.channel === CHANNEL_NAMES.store), 'the store message');
    const missCount = seen.length;
    assert.equal((await request(app.base, path)).headers['x-cache'], 'HIT');
    await sleep(50);

    assert.deepEqual(seen.map((s) => s.channel), [
      CHANNEL_NAMES.lookup, CHANNEL_NAMES.fillStart, CHANNEL_NAMES.fillEnd, CHANNEL_NAMES.store, CHANNEL_NAMES.lookup,
    ]);
    const [lookup, fillStart, fillEnd, store, hit] = seen.map((s) => s.message) as Record<string, unknown>[];
    const missReq = lookup!['req'];
    assert.ok(missReq instanceof IncomingMessage);
    for (const message of [fillStart, fillEnd, store]) assert.equal(message!['req'], missReq, 'one request object through the miss');
    assert.ok(hit!['req'] instanceof IncomingMessage && hit!['req'] !== missReq);
    const strip = (message: Record<string, unknown>) => Object.fromEntries(Object.entries(message).filter(([key]) => key !== 'req'));
    // app.use(cache) looks up before any route ran: the miss's name comes with fill:end.
    assert.deepEqual(strip(lookup!), { result: 'miss', tier: 'redis', name: undefined, failed: false });
    assert.deepEqual(strip(fillStart!), { refresh: false });
    const { durationMs, ...end } = strip(fillEnd!);
    assert.deepEqual(end, { refresh: false, name: '/items/:id', outcome: 'recorded', aborted: false });
    assert.ok(typeof durationMs === 'number' && durationMs >= 0);
    assert.deepEqual(strip(store!), { name: '/items/:id', stored: true });
    const { tier, ...hitRest } = strip(hit!);
    assert.deepEqual(hitRest, { result: 'hit', name: '/items/:id', failed: false });
    // Redis, or this instance's copy of the Redis entry where the memory tier keeps one.
    assert.ok(tier === 'redis' || tier === 'near', `hit tier ${String(tier)}`);
    assert.equal(missCount, 4);
    for (const { message } of seen) {
      const text = JSON.stringify(strip(message));
      assert.ok(!text.includes('secret') && !text.includes('otel:'), `no path or key in ${text}`);
    }
  } finally {
    for (const unsubscribe of listeners) unsubscribe();
  }
  for (const name of Object.values(CHANNEL_NAMES)) assert.equal(diagnosticsChannel.channel(name).hasSubscribers, false);
});

test('degraded and recovered are published with the instance, and the tier status follows', async () => {
  const seen: { channel: string; message: Record<string, unknown> }[] = [];
  const listener = (message: unknown, name: string | symbol) => void seen.push({ channel: String(name), message: message as Record<string, unknown> });
  diagnosticsChannel.subscribe(CHANNEL_NAMES.degraded, listener);
  diagnosticsChannel.subscribe(CHANNEL_NAMES.recovered, listener);
  const instance = app.cache.stats().instance.id;
  try {
    proxy.refuse(true);
    try {
      await waitFor(() => seen.length === 1, 'the degraded message', 8_000);
      assert.equal(seen[0]!.channel, CHANNEL_NAMES.degraded);
      assert.equal(seen[0]!.message['instance'], instance);
      assert.equal(seen[0]!.message['tier'], 'memory');
      assert.equal(typeof seen[0]!.message['reason'], 'string');
      await sendAll(app.base, mixedPlan(20, 3, 5), 1);
      await settled(app.cache);
      const down = await collect();
      assert.equal(value(down, `${P}.tier.status`, { [A.state]: 'memory' }), 1);
      assert.equal(nearCacheState(down), 'off');
      assert.ok((servedFrom(down)['memory'] ?? 0) > 0, 'hits were served from the memory tier alone');
      assertMatchesStats(down, app.cache.stats());
    } finally {
      proxy.refuse(false);
    }
    await waitFor(() => seen.length === 2, 'the recovered message', 8_000);
    assert.deepEqual(seen[1], { channel: CHANNEL_NAMES.recovered, message: { instance, tier: 'redis' } });
    assert.equal(value(await collect(), `${P}.tier.status`, { [A.state]: 'redis' }), 1);
  } finally {
    diagnosticsChannel.unsubscribe(CHANNEL_NAMES.degraded, listener);
    diagnosticsChannel.unsubscribe(CHANNEL_NAMES.recovered, listener);
  }
});

test('writes Redis refuses are counted in the refused-writes counter', async () => {
  await waitFor(() => app.cache.tier === 'redis', 'the cache to be back on Redis', 8_000);
  const before = value(await collect(), `${P}.redis.refused_writes`);
  await redis.command('SET', 'ballast', 'x'.repeat(2_000_000));
  await redis.command('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
  await redis.command('CONFIG', 'SET', 'maxmemory', '1mb');
  try {
    for (const path of ['/items/refused-1', '/items/refused-2']) assert.equal((await request(app.base, path)).headers['x-cache'], 'MISS');
    await waitFor(() => app.cache.stats().tier.refusedWrites === before + 2, 'two refused writes in the stats');
    const resource = await collect();
    assert.equal(value(resource, `${P}.redis.refused_writes`), before + 2);
    assertMatchesStats(resource, app.cache.stats());
  } finally {
    await redis.command('CONFIG', 'SET', 'maxmemory', '0');
    await redis.command('DEL', 'ballast');
  }
});
