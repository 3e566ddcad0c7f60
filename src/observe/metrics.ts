import { createRequire } from 'node:module';
import type { CacheCore } from '../core.js';
import { CacheConfigError } from '../config/errors.js';
import { LATENCY_BUCKETS_MS, type Histogram } from './histogram.js';
import { NEAR_CACHE_STATES, nearCacheState, SERVED_FROM, type StatsReport } from './stats-report.js';

/** The part of a prom-client `Registry` we use. */
export interface MetricsRegistry {
  registerMetric(metric: never): void;
  getSingleMetric(name: string): unknown;
}

export interface MetricsOptions {
  /** Prefix of every metric name. @default 'express_resilient_cache_' */
  prefix?: string;
}

type Labels = Record<string, string>;
interface Sample {
  readonly value: number;
  readonly labels: Labels;
  readonly metricName?: string;
}
type MetricType = 'counter' | 'gauge' | 'histogram';

/**
 * A metric read from the cache's own counters when Prometheus scrapes, in the shape prom-client's registry expects
 * from `get()`. Nothing is recorded twice and nothing runs per request: the request path keeps its plain counters.
 */
class ScrapedMetric {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly aggregator = 'sum';
  readonly #read: () => Sample[];

  constructor(name: string, help: string, type: MetricType, read: () => Sample[]) {
    this.name = name;
    this.help = help;
    this.type = type;
    this.#read = read;
  }

  async get(): Promise<{ name: string; help: string; type: MetricType; aggregator: string; values: Sample[] }> {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.#read() };
  }

  /** The counters are the cache's, not the registry's: `registry.resetMetrics()` leaves them alone. */
  reset(): void {}
}

/**
 * Registers the cache's metrics in a prom-client registry (the default registry when none is given). Labels are
 * few and bounded: `name` (route names), `result`, `served_from`, `tier`, `state`. Calling it again for the same
 * registry is a no-op.
 */
export function registerMetrics(core: CacheCore, registry: MetricsRegistry | undefined, options: MetricsOptions = {}): MetricsRegistry {
  const target = registry ?? defaultRegistry();
  const p = options.prefix ?? 'express_resilient_cache_';
  if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(p)) throw new CacheConfigError('metrics prefix', 'must be a valid Prometheus metric name prefix.');
  for (const metric of [...counterMetrics(core, p), ...gaugeMetrics(core, p), ...latencyMetrics(core, p)]) {
    if (target.getSingleMetric(metric.name) === undefined) target.registerMetric(metric as never);
  }
  return target;
}

const TIER_STATES = ['redis', 'memory', 'memory-only'] as const satisfies readonly StatsReport['tier']['state'][];

function counterMetrics(core: CacheCore, p: string): ScrapedMetric[] {
  return [
    new ScrapedMetric(`${p}requests_total`, 'Requests and getOrSet calls by name and result (hit, miss, stale, bypass).', 'counter', () =>
      core.stats.names().flatMap((s) => [
        { value: s.hits, labels: { name: s.name, result: 'hit' } },
        { value: s.misses, labels: { name: s.name, result: 'miss' } },
        { value: s.stale, labels: { name: s.name, result: 'stale' } },
        { value: s.bypasses, labels: { name: s.name, result: 'bypass' } },
      ])),
    new ScrapedMetric(`${p}stores_total`, 'Entries stored, by name.', 'counter', () =>
      core.stats.names().map((s) => ({ value: s.stores, labels: { name: s.name } }))),
    new ScrapedMetric(`${p}errors_total`, 'Requests during which Redis failed and memory answered, by name.', 'counter', () =>
      core.stats.names().map((s) => ({ value: s.errors, labels: { name: s.name } }))),
    new ScrapedMetric(`${p}redis_errors_total`, 'Redis calls that failed or missed their deadline.', 'counter', () =>
      [{ value: core.store.redisErrors, labels: {} }]),
    new ScrapedMetric(`${p}hits_total`, 'Hits and stale hits of cached routes by where the entry was served from: near (this '
      + 'process\'s memory while Redis serves: near-cache copies, entries Redis refused), redis, memory (the memory tier alone).', 'counter', () =>
      SERVED_FROM.map((from) => ({ value: core.stats.servedFromCounts[from], labels: { served_from: from } }))),
    new ScrapedMetric(`${p}redis_refused_writes_total`, 'Writes Redis refused (OOM under noeviction, a READONLY replica); their '
      + 'entries were kept in this instance\'s memory.', 'counter', () => [{ value: core.store.refusals.count, labels: {} }]),
  ];
}

function gaugeMetrics(core: CacheCore, p: string): ScrapedMetric[] {
  return [
    new ScrapedMetric(`${p}tier`, 'The tier serving now (1) among redis, memory (Redis out) and memory-only.', 'gauge', () =>
      stateSet(TIER_STATES, core.store.state)),
    new ScrapedMetric(`${p}near_cache`, 'The near-cache state (1) among live (copies of Redis entries served, every change '
      + 'reported), off (not subscribed to invalidations now: hits read Redis) and disabled.', 'gauge', () =>
      stateSet(NEAR_CACHE_STATES, nearCacheState(core))),
    new ScrapedMetric(`${p}memory_entries`, 'Entries in the memory tier.', 'gauge', () => [{ value: core.store.memory.size, labels: {} }]),
    new ScrapedMetric(`${p}memory_bytes`, 'Approximate bytes held by the memory tier.', 'gauge', () => [{ value: core.store.memory.bytes, labels: {} }]),
    new ScrapedMetric(`${p}pending_invalidations`, 'Invalidations waiting for Redis to return.', 'gauge', () =>
      [{ value: core.store.pendingInvalidations, labels: {} }]),
  ];
}

function latencyMetrics(core: CacheCore, p: string): ScrapedMetric[] {
  return [
    new ScrapedMetric(`${p}lookup_duration_seconds`, 'Cache lookup time by tier.', 'histogram', () => [
      ...histogramSamples(`${p}lookup_duration_seconds`, core.stats.latency.memory.lifetime, { tier: 'memory' }),
      ...histogramSamples(`${p}lookup_duration_seconds`, core.stats.latency.redis.lifetime, { tier: 'redis' }),
    ]),
    new ScrapedMetric(`${p}handler_duration_seconds`, 'Handler (or getOrSet fetcher) time on misses.', 'histogram', () =>
      histogramSamples(`${p}handler_duration_seconds`, core.stats.latency.handler.lifetime, {})),
  ];
}

/** One sample per state, 1 for the current one: a state set, which sums to 1 and alerts on `state="…" == 1`. */
function stateSet(states: readonly string[], current: string): Sample[] {
  return states.map((state) => ({ value: state === current ? 1 : 0, labels: { state } }));
}

function histogramSamples(name: string, histogram: Histogram, labels: Labels): Sample[] {
  const samples: Sample[] = [];
  let cumulative = 0;
  LATENCY_BUCKETS_MS.forEach((upperMs, i) => {
    cumulative += histogram.counts[i] as number;
    samples.push({ value: cumulative, labels: { ...labels, le: String(upperMs / 1000) }, metricName: `${name}_bucket` });
  });
  samples.push({ value: histogram.count, labels: { ...labels, le: '+Inf' }, metricName: `${name}_bucket` });
  samples.push({ value: histogram.sum / 1000, labels, metricName: `${name}_sum` });
  samples.push({ value: histogram.count, labels, metricName: `${name}_count` });
  return samples;
}

function defaultRegistry(): MetricsRegistry {
  try {
    // prom-client is an optional peer dependency: loaded only when metrics are asked for.
    const promClient = createRequire(import.meta.url)('prom-client') as { register: MetricsRegistry };
    return promClient.register;
  } catch {
    throw new CacheConfigError('metrics', 'needs prom-client: `npm install prom-client`, or pass your own Registry.');
  }
}
