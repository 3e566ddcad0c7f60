import { CacheConfigError } from '../config/errors.js';
import { suggest } from '../config/suggest.js';
import type { CacheCore } from '../core.js';
import type { TierState } from '../stores/tiered-store.js';
import { LATENCY_BUCKETS_MS, type Histogram } from './histogram.js';
import { NEAR_CACHE_STATES, nearCacheState, SERVED_FROM } from './stats-report.js';
import { COUNTER_FIELDS, type CounterField } from './stats.js';

// OpenTelemetry export of the figures the Prometheus metrics show (metrics.ts), read from the cache's own counters at
// collection time: the request path keeps its plain counters and nothing is recorded twice. The OpenTelemetry types
// below are written out by shape, as metrics.ts does for prom-client: the package builds, loads and type-checks (lib
// check on) without @opentelemetry/* installed, and a real `Meter` or `MetricReader` fits them.

/** Attributes as OpenTelemetry takes them. */
export type TelemetryAttributes = Record<string, string | number | boolean>;

/** An observable instrument a meter made; only handed back to it. */
export type TelemetryObservable = object;

/** What a batch observable callback is given: `BatchObservableResult` of `@opentelemetry/api`. */
export interface TelemetryObservations {
  observe(observable: TelemetryObservable, value: number, attributes?: TelemetryAttributes): void;
}

/** Options of an instrument: `MetricOptions` of `@opentelemetry/api`. */
export interface TelemetryInstrumentOptions {
  description?: string;
  unit?: string;
  /** `ValueType` of `@opentelemetry/api`: 0 for integers, 1 for doubles. */
  valueType?: number;
}

/** The part of an OpenTelemetry `Meter` (`@opentelemetry/api`) the cache uses. */
export interface TelemetryMeter {
  createObservableCounter(name: string, options?: TelemetryInstrumentOptions): TelemetryObservable;
  createObservableUpDownCounter(name: string, options?: TelemetryInstrumentOptions): TelemetryObservable;
  addBatchObservableCallback(callback: (observations: TelemetryObservations) => void, observables: TelemetryObservable[]): void;
}

/** Options of `cache.telemetry(meter, options)`. */
export interface TelemetryOptions {
  /**
   * Where the latency histograms go: a MetricProducer made by `telemetryHistograms()` and given to your MetricReader
   * (`metricProducers: [histograms]`). One per cache. Without it the histograms are not exported.
   * @default undefined
   */
  histograms?: TelemetryHistograms;
}

/** Options of `telemetryHistograms()`. */
export interface TelemetryHistogramsOptions {
  /**
   * The instrumentation scope the histograms are reported under. Give it the name of the meter you pass to
   * `cache.telemetry()`, so all of the cache's metrics sit in one scope.
   * @default 'express-resilient-cache'
   */
  scope?: string;
}

const N = 'express_resilient_cache';
/** Attribute keys, namespaced like the metrics (OpenTelemetry's naming rules: no bare `name` or `state`). */
export const TELEMETRY_ATTRIBUTES = Object.freeze({
  name: `${N}.name`,
  result: `${N}.result`,
  tier: `${N}.lookup.tier`,
  state: `${N}.tier.state`,
  servedFrom: `${N}.served_from`,
  nearCacheState: `${N}.near_cache.state`,
});
const A = TELEMETRY_ATTRIBUTES;
/** `ValueType.INT` and `ValueType.DOUBLE` of `@opentelemetry/api` (a stable enum), which the package does not load. */
const INT = 0;
const DOUBLE = 1;

interface InstrumentSpec {
  readonly name: string;
  readonly unit: string;
  readonly description: string;
}
interface CounterExport extends InstrumentSpec {
  /** Set beside the name on this counter's values; several fields can share one instrument, told apart by these. */
  readonly attributes?: TelemetryAttributes;
}

const REQUESTS: InstrumentSpec = { name: `${N}.requests`, unit: '{request}', description: 'Requests and getOrSet calls by name and result (hit, miss, stale, bypass).' };

/**
 * Where each of the stats' per-name counters goes. Keyed by the counter fields, so a new field does not compile until
 * it has its line here; an instrument named for the first time is created from its line.
 */
const COUNTER_EXPORTS: Readonly<Record<CounterField, CounterExport>> = {
  hits: { ...REQUESTS, attributes: { [A.result]: 'hit' } },
  misses: { ...REQUESTS, attributes: { [A.result]: 'miss' } },
  stale: { ...REQUESTS, attributes: { [A.result]: 'stale' } },
  bypasses: { ...REQUESTS, attributes: { [A.result]: 'bypass' } },
  stores: { name: `${N}.stores`, unit: '{entry}', description: 'Entries stored, by name.' },
  errors: { name: `${N}.errors`, unit: '{request}', description: 'Requests during which Redis failed and memory answered, by name.' },
};

const TIER_STATES: readonly TierState[] = ['redis', 'memory', 'memory-only'];
const SERVED_FROM_DESCRIPTION = 'Hits and stale hits of cached routes by where the entry was served from: near (this process\'s memory '
  + 'while Redis serves: near-cache copies, entries Redis refused), redis, memory (the memory tier alone).';
const NEAR_CACHE_DESCRIPTION = 'The near-cache state (1) among live (copies of Redis entries served, every change reported), off (not '
  + 'subscribed to invalidations now: hits read Redis) and disabled.';

/** One value per state, 1 for the current one, under the state's attribute. */
function stateSet(states: readonly string[], current: string, key: string): (readonly [number, TelemetryAttributes])[] {
  return states.map((state) => [state === current ? 1 : 0, { [key]: state }] as const);
}

/**
 * The cache-wide figures. `counter`: only grows (an ObservableCounter); `updown`: a level that is summed across
 * instances (an ObservableUpDownCounter, as OpenTelemetry has it for sizes and counts in a state).
 */
interface CacheFigure extends InstrumentSpec {
  readonly kind: 'counter' | 'updown';
  read(core: CacheCore): number | readonly (readonly [value: number, attributes: TelemetryAttributes])[];
}
const CACHE_FIGURES: readonly CacheFigure[] = [
  { kind: 'counter', name: `${N}.redis.errors`, unit: '{error}', description: 'Redis calls that failed or missed their deadline.', read: (core) => core.store.redisErrors },
  { kind: 'counter', name: `${N}.hits`, unit: '{hit}', description: SERVED_FROM_DESCRIPTION,
    read: (core) => SERVED_FROM.map((from) => [core.stats.servedFromCounts[from], { [A.servedFrom]: from }] as const) },
  { kind: 'counter', name: `${N}.redis.refused_writes`, unit: '{write}', description: 'Writes Redis refused (OOM under noeviction, a READONLY '
    + 'replica); their entries were kept in this instance\'s memory.', read: (core) => core.store.refusals.count },
  { kind: 'updown', name: `${N}.tier.status`, unit: '1', description: 'The tier serving now (1) among redis, memory (Redis out) and memory-only.',
    read: (core) => stateSet(TIER_STATES, core.store.state, A.state) },
  { kind: 'updown', name: `${N}.near_cache.status`, unit: '1', description: NEAR_CACHE_DESCRIPTION,
    read: (core) => stateSet(NEAR_CACHE_STATES, nearCacheState(core), A.nearCacheState) },
  { kind: 'updown', name: `${N}.memory.entry.count`, unit: '{entry}', description: 'Entries in the memory tier.', read: (core) => core.store.memory.size },
  { kind: 'updown', name: `${N}.memory.usage`, unit: 'By', description: 'Approximate bytes held by the memory tier.', read: (core) => core.store.memory.bytes },
  { kind: 'updown', name: `${N}.invalidation.pending`, unit: '{invalidation}', description: 'Invalidations waiting for Redis to return.',
    read: (core) => core.store.pendingInvalidations },
];

/** The meters each cache has registered with, so a second `telemetry(meter)` adds nothing. */
const registered = new WeakMap<CacheCore, WeakSet<TelemetryMeter>>();

/**
 * Registers the cache's counters and gauges on an OpenTelemetry meter as observable instruments, all read by one
 * batch callback when the meter's reader collects; attaches the latency histograms to `options.histograms`. Calling
 * it again for the same meter registers nothing more.
 */
export function registerTelemetry<M extends TelemetryMeter>(core: CacheCore, meter: M, options: TelemetryOptions = {}): M {
  const histograms = checkTelemetryOptions(meter, options);
  histograms?.attach(core);
  let meters = registered.get(core);
  if (!meters) registered.set(core, (meters = new WeakSet()));
  if (meters.has(meter)) return meter;
  meters.add(meter);
  const byName = new Map<string, TelemetryObservable>();
  const counters = COUNTER_FIELDS.map((field) => {
    const spec = COUNTER_EXPORTS[field];
    let observable = byName.get(spec.name);
    if (!observable) byName.set(spec.name, (observable = meter.createObservableCounter(spec.name, instrumentOptions(spec))));
    return { field, observable, attributes: spec.attributes };
  });
  const figures = CACHE_FIGURES.map((figure) => ({
    figure,
    observable: figure.kind === 'counter'
      ? meter.createObservableCounter(figure.name, instrumentOptions(figure))
      : meter.createObservableUpDownCounter(figure.name, instrumentOptions(figure)),
  }));
  meter.addBatchObservableCallback((observations) => {
    for (const stats of core.stats.names()) {
      for (const { field, observable, attributes } of counters) {
        observations.observe(observable, stats[field], { [A.name]: stats.name, ...attributes });
      }
    }
    for (const { figure, observable } of figures) {
      const read = figure.read(core);
      if (typeof read === 'number') observations.observe(observable, read);
      else for (const [value, attributes] of read) observations.observe(observable, value, attributes);
    }
  }, [...byName.values(), ...figures.map(({ observable }) => observable)]);
  return meter;
}

function instrumentOptions(spec: InstrumentSpec): TelemetryInstrumentOptions {
  return { description: spec.description, unit: spec.unit, valueType: INT };
}

function checkTelemetryOptions(meter: TelemetryMeter, options: TelemetryOptions): HistogramProducer | undefined {
  const methods = ['createObservableCounter', 'createObservableUpDownCounter', 'addBatchObservableCallback'] as const;
  if (typeof meter !== 'object' || meter === null || methods.some((method) => typeof meter[method] !== 'function')) {
    throw new CacheConfigError('telemetry', 'needs an OpenTelemetry Meter: `meterProvider.getMeter(name)`, or `metrics.getMeter(name)` from @opentelemetry/api.');
  }
  if (typeof options !== 'object' || options === null) throw new CacheConfigError('telemetry options', `must be an object, not ${typeof options}.`);
  for (const key of Object.keys(options)) {
    if (key === 'histograms') continue;
    const guess = suggest(key, ['histograms']);
    throw new CacheConfigError(`telemetry ${key}`, `is not an option${guess ? `; did you mean \`${guess}\`?` : '. Known options: histograms.'}`);
  }
  const { histograms } = options;
  if (histograms !== undefined && !(histograms instanceof HistogramProducer)) {
    throw new CacheConfigError('telemetry histograms', 'must come from `telemetryHistograms()`.');
  }
  return histograms;
}

/**
 * The latency histograms as an OpenTelemetry MetricProducer (`@opentelemetry/sdk-metrics`): give it to a
 * MetricReader, `new PeriodicExportingMetricReader({ exporter, metricProducers: [histograms] })`.
 */
export interface TelemetryHistograms {
  collect(options?: { timeoutMillis?: number }): Promise<HistogramCollection>;
}

/** A `CollectionResult` of `@opentelemetry/sdk-metrics`, holding histograms only. */
export interface HistogramCollection {
  resourceMetrics: { resource: ProducerResource; scopeMetrics: { scope: { name: string }; metrics: HistogramMetric[] }[] };
  errors: unknown[];
}

/** A `Resource` with no attributes: a MetricReader reports its MeterProvider's resource and drops its producers'. */
export interface ProducerResource {
  readonly attributes: TelemetryAttributes;
  merge(other: ProducerResource | null): ProducerResource;
  getRawAttributes(): never[];
}

/** `HistogramMetricData` of `@opentelemetry/sdk-metrics`: cumulative, explicit buckets. */
export interface HistogramMetric {
  readonly descriptor: { readonly name: string; readonly description: string; readonly unit: string; readonly valueType: typeof DOUBLE };
  /** `AggregationTemporality.CUMULATIVE` */
  readonly aggregationTemporality: 1;
  /** `DataPointType.HISTOGRAM` */
  readonly dataPointType: 0;
  readonly dataPoints: HistogramPoint[];
}

/** One histogram's figures: `DataPoint<Histogram>` of `@opentelemetry/sdk-metrics`, sums and bounds in seconds. */
export interface HistogramPoint {
  /** `[seconds, nanoseconds]` since the epoch. */
  readonly startTime: [number, number];
  readonly endTime: [number, number];
  readonly attributes: TelemetryAttributes;
  readonly value: { buckets: { boundaries: number[]; counts: number[] }; count: number; sum: number; max?: number };
}

const NO_RESOURCE: ProducerResource = Object.freeze({
  attributes: Object.freeze({}),
  merge: (other: ProducerResource | null) => other ?? NO_RESOURCE,
  getRawAttributes: () => [],
});

/** The buckets' upper bounds in seconds; the last count is past the last bound, as OpenTelemetry's are. */
const BOUNDARIES_S = LATENCY_BUCKETS_MS.map((ms) => ms / 1000);

/**
 * Why a MetricProducer: the OpenTelemetry API has no observable histogram, and recording each request into an API
 * histogram is the per-request work this export must not add (replaying the counts into one at collection would cost
 * a call per request and make up the sum). The cache already keeps cumulative fixed-bucket histograms; a
 * MetricProducer is OpenTelemetry's door for such pre-aggregated data (as its Prometheus and OpenCensus bridges use),
 * and hands the reader real histogram points, the kind OpenTelemetry's own HTTP duration metrics are, which every
 * exporter and backend takes and which add up across instances (percentile gauges would not). It is not tied to a
 * meter, so it can be given to a reader made before the cache (an SDK set up at start-up).
 */
class HistogramProducer implements TelemetryHistograms {
  readonly #scope: string;
  #core: CacheCore | undefined;

  constructor(scope: string) {
    this.#scope = scope;
  }

  attach(core: CacheCore): void {
    if (this.#core && this.#core !== core) {
      throw new CacheConfigError('telemetry histograms', 'already carries another cache\'s: make one `telemetryHistograms()` per cache.');
    }
    this.#core = core;
  }

  async collect(): Promise<HistogramCollection> {
    const core = this.#core;
    const metrics = core ? [
      histogramMetric(`${N}.lookup.duration`, 'Cache lookup time by tier.', core, [
        [core.stats.latency.memory.lifetime, { [A.tier]: 'memory' }],
        [core.stats.latency.redis.lifetime, { [A.tier]: 'redis' }],
      ]),
      histogramMetric(`${N}.handler.duration`, 'Handler (or getOrSet fetcher) time on misses.', core, [[core.stats.latency.handler.lifetime, {}]]),
    ] : [];
    return { resourceMetrics: { resource: NO_RESOURCE, scopeMetrics: [{ scope: { name: this.#scope }, metrics }] }, errors: [] };
  }
}

function histogramMetric(name: string, description: string, core: CacheCore,
  series: readonly (readonly [Histogram, TelemetryAttributes])[]): HistogramMetric {
  // Cumulative since the histograms were made, with the cache.
  const startTime = hrTime(core.instance.startedAt);
  const endTime = hrTime(core.clock.now());
  return {
    descriptor: { name, description, unit: 's', valueType: DOUBLE },
    aggregationTemporality: 1,
    dataPointType: 0,
    dataPoints: series.map(([histogram, attributes]) => ({
      startTime,
      endTime,
      attributes,
      value: {
        buckets: { boundaries: [...BOUNDARIES_S], counts: Array.from(histogram.counts) },
        count: histogram.count,
        sum: histogram.sum / 1000,
        ...(histogram.count > 0 ? { max: histogram.max / 1000 } : {}),
      },
    })),
  };
}

function hrTime(ms: number): [number, number] {
  const seconds = Math.floor(ms / 1000);
  return [seconds, Math.round((ms - seconds * 1000) * 1e6)];
}

/**
 * Makes the MetricProducer that carries one cache's latency histograms to an OpenTelemetry MetricReader; the cache
 * fills it when it is passed to `cache.telemetry(meter, { histograms })`. Until then it produces nothing.
 */
export function telemetryHistograms(options: TelemetryHistogramsOptions = {}): TelemetryHistograms {
  const scope = options.scope ?? 'express-resilient-cache';
  if (typeof scope !== 'string' || scope === '') throw new CacheConfigError('scope', 'must be a non-empty string (an instrumentation scope name).');
  return new HistogramProducer(scope);
}
