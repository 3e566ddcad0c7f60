import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { RequestHandler, Router } from 'express';
import { Coalescer } from './coalescing/coalescer.js';
import { CORE, type CacheCore, type SharedResponse } from './core.js';
import { FillLock } from './coalescing/fill-lock.js';
import { getOrSet, type GetOrSetOptions } from './values/get-or-set.js';
import { checkHealth, type HealthReport } from './observe/health.js';
import { invalidate, type InvalidateOptions } from './values/invalidation.js';
import { KeySpace, RequestKeys } from './http/keys.js';
import { createMiddleware, createRouteMiddleware } from './http/middleware.js';
import { resolveOptions, resolveRouteOptions, type ResilientCacheOptions, type RouteOptions } from './config/options.js';
import { createHealthRouter, type HealthRouterOptions } from './routers/health-router.js';
import { createStatsRouter, type StatsRouterOptions } from './routers/stats-router.js';
import { registerMetrics, type MetricsOptions, type MetricsRegistry } from './observe/metrics.js';
import { readRedisInfo } from './observe/redis-info.js';
import { SharedCounters } from './observe/shared-counters.js';
import { Stats } from './observe/stats.js';
import { localReport, type SharedStats, type StatsReport } from './observe/stats-report.js';
import { MemoryStore } from './stores/memory-store.js';
import { createRedisClient } from './stores/redis-client.js';
import { RedisStore } from './stores/redis-store.js';
import { TieredStore, type TierState } from './stores/tiered-store.js';

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
  const resolved = resolveOptions(options);
  const keys = new KeySpace(resolved.prefix);
  const stats = new Stats();
  const connection = resolved.redis === undefined ? undefined : createRedisClient(resolved.redis, resolved.redisTimeoutMs);
  const store = new TieredStore({
    memory: new MemoryStore({ maxEntries: resolved.maxEntries, maxBytes: resolved.maxBytes }),
    redis: connection && new RedisStore(connection.client, { writeTimeoutMs: resolved.redisTimeoutMs * 4 }),
    redisTimeoutMs: resolved.redisTimeoutMs,
    failureThreshold: resolved.failureThreshold,
    openForMs: resolved.openForMs,
    onLookup: (tier, ms) => stats.latency[tier].record(ms),
  });
  // A lookup that began before a fill's result was released ends at most two deadlines later (a Vary index, then the
  // variant), plus whatever the event loop adds under load: for that long it may still join the fill. Few keys are
  // stampeded at once; the cap bounds what lingering results hold on to. Memory-only lookups never wait: no linger.
  const linger = store.redis ? { ms: Math.max(1000, 4 * resolved.redisTimeoutMs), maxKeys: 64 } : undefined;
  const core: CacheCore = {
    options: resolved,
    keys,
    requestKeys: new RequestKeys(keys),
    store,
    stats,
    fills: new Coalescer<SharedResponse | undefined>(linger),
    values: new Coalescer<unknown>(linger),
    lock: resolved.lock && new FillLock(store, keys, { ...resolved.lock, redisTimeoutMs: resolved.redisTimeoutMs }),
    refreshing: new Set<string>(),
    closed: false,
  };
  const shared = store.redis
    ? new SharedCounters(store, stats, { keys, windowMs: resolved.statsWindowMs, flushIntervalMs: resolved.flushIntervalMs })
    : undefined;
  let lastShared: SharedStats | null = null;
  const instance = { id: `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`, startedAt: Date.now() };
  const events = new EventEmitter();
  store.on('degraded', (error: unknown) => events.emit('degraded', error));
  store.on('recovered', () => events.emit('recovered'));

  const cache = createMiddleware(core) as ResilientCache;
  const methods = {
    route: (routeOptions?: RouteOptions | false) =>
      createRouteMiddleware(core, routeOptions === false ? false : resolveRouteOptions(routeOptions, resolved.policy)),
    getOrSet: <T>(key: string, fetch: () => T | Promise<T>, getOptions?: GetOrSetOptions<T>) => getOrSet(core, key, fetch, getOptions),
    invalidate: (what: InvalidateOptions) => invalidate(core, what),
    stats: (): StatsReport => ({ ...localReport(core, instance), shared: lastShared }),
    collectStats: async (): Promise<StatsReport> => {
      await shared?.flush();
      const [sharedFigures, redisInfo] = await Promise.all([shared?.read() ?? null, readRedisInfo(store)]);
      if (sharedFigures) lastShared = sharedFigures;
      return { ...localReport(core, instance), shared: sharedFigures, redis: redisInfo };
    },
    metrics: (registry?: MetricsRegistry, metricsOptions?: MetricsOptions) => registerMetrics(core, registry, metricsOptions),
    health: () => checkHealth(core, instance.id),
    healthRouter: (routerOptions?: HealthRouterOptions) => createHealthRouter(cache, routerOptions),
    statsRouter: (routerOptions?: StatsRouterOptions) => createStatsRouter(cache, routerOptions),
    on: (event: string, listener: Listener) => (events.on(event, listener), cache),
    off: (event: string, listener: Listener) => (events.off(event, listener), cache),
    once: (event: string, listener: Listener) => (events.once(event, listener), cache),
    close: async () => {
      if (core.closed) return;
      core.closed = true;
      await shared?.close();
      stats.close();
      store.close();
      if (!connection?.owned) return;
      // quit() waits for Redis to say goodbye: only worth it on a live connection. Otherwise (never connected, or
      // reconnecting) disconnect at once, so close() neither waits on timers nor keeps the process alive.
      if (connection.client.status === 'ready') await connection.client.quit().catch(() => connection.client.disconnect());
      else connection.client.disconnect();
    },
  };
  Object.assign(cache, methods);
  Object.defineProperty(cache, 'tier', { get: () => store.state, enumerable: true });
  Object.defineProperty(cache, CORE, { value: core });
  return cache;
}

export { coreOf } from './core.js';
