import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { RequestHandler, Router } from 'express';
import { systemClock, type Clock } from './clock.js';
import { Coalescer } from './coalescing/coalescer.js';
import { FillLock } from './coalescing/fill-lock.js';
import type { ResilientCacheOptions, ResolvedOptions, RouteOptions } from './config/options.js';
import { resolveOptions, resolveRouteOptions } from './config/resolve-options.js';
import { CORE, coreOf, type CacheCore, type SharedResponse } from './core.js';
import { RequestKeys } from './http/keys.js';
import { createMiddleware, createRouteMiddleware } from './http/middleware.js';
import { channels } from './observe/channels.js';
import { describeError } from './observe/debug.js';
import { checkHealth, type HealthReport } from './observe/health.js';
import { registerMetrics, type MetricsOptions, type MetricsRegistry } from './observe/metrics.js';
import { SharedCounters } from './observe/shared-counters.js';
import { Stats } from './observe/stats.js';
import { collectStats, statsReport, type StatsReport } from './observe/stats-report.js';
import { registerTelemetry, type TelemetryMeter, type TelemetryOptions } from './observe/telemetry.js';
import { createHealthRouter, type HealthRouterOptions } from './routers/health-router.js';
import { createStatsRouter, type StatsRouterOptions } from './routers/stats-router.js';
import { KeySpace } from './stores/key-space.js';
import { MemoryStore } from './stores/memory-store.js';
import { createRedisClient } from './stores/redis-client.js';
import { RedisStore } from './stores/redis-store.js';
import { TieredStore, type TierState } from './stores/tiered-store.js';
import { getOrSet, type GetOrSetOptions } from './values/get-or-set.js';
import { invalidate, type InvalidateOptions } from './values/invalidation.js';

/** The object `resilientCache()` returns: an Express middleware with the cache's other doors on it. */
export interface ResilientCache extends RequestHandler {
  /** Per-route options (they win over the app-wide ones), or `false` to never cache the route. */
  route(options?: RouteOptions | false): RequestHandler;
  /** Returns the cached value for `key`, else fetches, caches and returns it. */
  getOrSet<T>(key: string, fetch: () => T | Promise<T>, options?: GetOrSetOptions<T>): Promise<T>;
  /** Removes entries by key, tag or name from every tier; resolves to how many were found. */
  invalidate(what: InvalidateOptions): Promise<number>;
  /**
   * This instance's counters, tier state and latency; `shared` holds all instances' figures as last read by
   * `collectStats()` (the stats router reads them on every request).
   */
  stats(): StatsReport;
  /** `stats()` plus all instances' figures and Redis's own (INFO), read now from Redis (bounded to about a second). */
  collectStats(): Promise<StatsReport>;
  /** Registers the cache's counters and histograms in a prom-client registry (default: prom-client's global one). */
  metrics(registry?: MetricsRegistry, options?: MetricsOptions): MetricsRegistry;
  /**
   * Exports the same figures to an OpenTelemetry meter (`@opentelemetry/api`), as observable instruments read when
   * its reader collects: nothing is recorded per request. The latency histograms go through `options.histograms`, a
   * MetricProducer from `telemetryHistograms()` given to the reader. Calling it again for the same meter changes
   * nothing. Returns the meter.
   *
   * ```ts
   * const histograms = telemetryHistograms();
   * const reader = new PeriodicExportingMetricReader({ exporter, metricProducers: [histograms] });
   * cache.telemetry(new MeterProvider({ readers: [reader] }).getMeter('express-resilient-cache'), { histograms });
   * ```
   */
  telemetry<M extends TelemetryMeter>(meter: M, options?: TelemetryOptions): M;
  /** Checks Redis and memory; answers within about a second even when Redis does not. */
  health(): Promise<HealthReport>;
  /** Same as `healthRouter(cache, options)`. */
  healthRouter(options?: HealthRouterOptions): Router;
  /** Same as `statsRouter(cache, options)`. */
  statsRouter(options?: StatsRouterOptions): Router;
  /** Which tier serves now. */
  readonly tier: TierState;
  /** `degraded` when Redis stops answering (the cache serves from memory), `recovered` when it is back. */
  on(event: 'degraded', listener: (error: unknown) => void): this;
  on(event: 'recovered', listener: () => void): this;
  off(event: 'degraded' | 'recovered', listener: (...args: never[]) => void): this;
  once(event: 'degraded', listener: (error: unknown) => void): this;
  once(event: 'recovered', listener: () => void): this;
  /** Stops timers and quits the Redis connection the cache opened (never a client you passed in). */
  close(): Promise<void>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- EventEmitter's own listener type
type Listener = (...args: any[]) => void;

/**
 * Creates the cache. Options are checked here, once: a mistake throws `CacheConfigError` naming the option.
 *
 * ```ts
 * const cache = resilientCache({ redis: process.env.REDIS_URL, ttl: '60s' });
 * app.use(cache);
 * ```
 */
export function resilientCache(options: ResilientCacheOptions = {}): ResilientCache {
  return createCache(options, systemClock);
}

/** `resilientCache()` on a clock of the caller's: how tests run TTLs, the breaker and windows without sleeping. */
export function createCache(options: ResilientCacheOptions, clock: Clock): ResilientCache {
  const core = createCore(resolveOptions(options), clock);
  const events = new EventEmitter();
  core.store.on('degraded', (error: unknown) => {
    if (channels.degraded.hasSubscribers) channels.degraded.publish({ instance: core.instance.id, tier: core.store.state, reason: describeError(error) });
    events.emit('degraded', error);
  });
  core.store.on('recovered', () => {
    if (channels.recovered.hasSubscribers) channels.recovered.publish({ instance: core.instance.id, tier: core.store.state });
    events.emit('recovered');
  });
  const cache = createMiddleware(core) as ResilientCache;
  const methods = {
    route: (routeOptions?: RouteOptions | false) =>
      createRouteMiddleware(core, routeOptions === false ? false : resolveRouteOptions(routeOptions, core.options.policy)),
    getOrSet: <T>(key: string, fetch: () => T | Promise<T>, getOptions?: GetOrSetOptions<T>) => getOrSet(core, key, fetch, getOptions),
    invalidate: (what: InvalidateOptions) => invalidate(core, what),
    stats: () => statsReport(core),
    collectStats: () => collectStats(core),
    metrics: (registry?: MetricsRegistry, metricsOptions?: MetricsOptions) => registerMetrics(core, registry, metricsOptions),
    telemetry: <M extends TelemetryMeter>(meter: M, telemetryOptions?: TelemetryOptions) => registerTelemetry(core, meter, telemetryOptions),
    health: () => checkHealth(core),
    healthRouter: (routerOptions?: HealthRouterOptions) => createHealthRouter(core, routerOptions),
    statsRouter: (routerOptions?: StatsRouterOptions) => createStatsRouter(core, routerOptions),
    on: (event: string, listener: Listener) => (events.on(event, listener), cache),
    off: (event: string, listener: Listener) => (events.off(event, listener), cache),
    once: (event: string, listener: Listener) => (events.once(event, listener), cache),
    close: () => closeCore(core),
  };
  Object.assign(cache, methods);
  Object.defineProperty(cache, 'tier', { get: () => core.store.state, enumerable: true });
  Object.defineProperty(cache, CORE, { value: core });
  return cache;
}

/**
 * `GET /` and `GET /ready`: the cache's health (`application/health+json`); `GET /live`: 200 while the process
 * answers. Mounted anywhere, even under `app.use(cache)`: its answers are neither cached nor counted.
 */
export function healthRouter(cache: ResilientCache, options?: HealthRouterOptions): Router {
  return createHealthRouter(coreOf(cache), options);
}

/**
 * `GET /`: the cache's figures as JSON, or a live dashboard for `Accept: text/html`; `GET /:name`: one name's.
 * Mounted anywhere, even under `app.use(cache)`: its answers are neither cached nor counted.
 */
export function statsRouter(cache: ResilientCache, options?: StatsRouterOptions): Router {
  return createStatsRouter(coreOf(cache), options);
}

/** Builds the parts from checked options and hands each what it needs. */
function createCore(options: ResolvedOptions, clock: Clock): CacheCore {
  const keys = new KeySpace(options.prefix);
  const stats = new Stats(clock, options.maxNames);
  const instance = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const redis = options.redis === undefined ? undefined
    : new RedisStore(createRedisClient(options.redis, options.redisTimeoutMs), { writeTimeoutMs: options.redisTimeoutMs * 4 });
  const store = new TieredStore({
    memory: new MemoryStore({ maxEntries: options.maxEntries, maxBytes: options.maxBytes, clock }),
    redis,
    redisTimeoutMs: options.redisTimeoutMs,
    failureThreshold: options.failureThreshold,
    openForMs: options.openForMs,
    clock,
    nearCache: options.nearCache,
    serveDuringOutage: options.serveDuringOutage,
    instance,
    tracked: { prefixes: [keys.response(''), keys.value('')].map((key) => key.slice(0, key.indexOf('{'))), channel: keys.invalidations() },
    tagKeysOf: (entry) => (entry.kind === 'vary' ? [] : [...entry.tags.map((tag) => keys.tag(tag)), keys.name(entry.name)]),
    writeProbeKey: keys.writeProbe(instance),
    onLookup: (tier, ms) => stats.latency[tier === 'near' ? 'memory' : tier].record(ms),
  });
  // A lookup that began before a fill's result was released ends at most two deadlines later (a Vary index, then the
  // variant), plus whatever the event loop adds under load: for that long it may still join the fill. Few keys are
  // stampeded at once; the cap bounds what lingering results hold on to. Memory-only lookups never wait: no linger.
  const linger = redis ? { ms: Math.max(1000, 4 * options.redisTimeoutMs), maxKeys: 64 } : undefined;
  return {
    options,
    clock,
    keys,
    requestKeys: new RequestKeys(keys),
    store,
    stats,
    shared: redis && new SharedCounters(store, stats, { keys, clock, windowMs: options.statsWindowMs, flushIntervalMs: options.flushIntervalMs }),
    fills: new Coalescer<SharedResponse | undefined>(linger, clock),
    values: new Coalescer<unknown>(linger, clock),
    lock: options.lock && new FillLock(store, keys, clock, { ...options.lock, redisTimeoutMs: options.redisTimeoutMs }),
    refreshing: new Set<string>(),
    instance: { id: instance, startedAt: clock.now() },
    closed: false,
  };
}

/** Flushes the shared counters one last time, stops every timer and closes the connection the cache opened. */
async function closeCore(core: CacheCore): Promise<void> {
  if (core.closed) return;
  core.closed = true;
  await core.shared?.close();
  core.stats.close();
  await core.store.close();
}
