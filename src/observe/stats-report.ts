import type { CacheCore } from '../core.js';
import type { BreakerState } from '../stores/circuit-breaker.js';
import type { TierState } from '../stores/tiered-store.js';
import type { LatencySummary } from './histogram.js';
import { readRedisInfo, type RedisServerSummary } from './redis-info.js';
import type { SharedStats } from './shared-counters.js';
import { nameRecord, type NameStats } from './stats.js';

/** `live`: near-cache copies of Redis entries are served; `off`: not now (connecting, or a connection is down); `disabled`: by option or without Redis. */
export type NearCacheState = 'live' | 'off' | 'disabled';
export const NEAR_CACHE_STATES: readonly NearCacheState[] = ['live', 'off', 'disabled'];
/** Where a hit's entry came from: a near-cache copy, Redis, the memory tier alone. */
export const SERVED_FROM = ['near', 'redis', 'memory'] as const;

/** The near-cache's state now, as the stats report, the metrics and the telemetry show it. */
export function nearCacheState(core: CacheCore): NearCacheState {
  if (!core.store.circuit || !core.options.nearCache) return 'disabled';
  return core.store.nearCacheLive ? 'live' : 'off';
}

/** What `cache.stats()` returns and the stats router serves. */
export interface StatsReport {
  readonly generatedAt: string;
  readonly instance: { readonly id: string; readonly uptimeSeconds: number };
  readonly tier: {
    readonly state: TierState;
    readonly breaker: BreakerState | 'disabled';
    readonly since: string;
    readonly pendingInvalidations: number;
    readonly redisErrors: number;
    readonly memoryEntries: number;
    readonly memoryBytes: number;
    readonly nearCache: NearCacheState;
    /** Hits and stale hits by where the entry came from: near-cache copies, Redis, the memory tier alone. */
    readonly servedFrom: Readonly<Record<(typeof SERVED_FROM)[number], number>>;
    /** Writes Redis refused (OOM under noeviction, a READONLY replica); such entries were kept in memory. */
    readonly refusedWrites: number;
  };
  readonly names: Record<string, NameStats>;
  readonly totals: NameStats;
  readonly shared: SharedStats | null;
  /** Over the last minute: lookups per tier, and handlers (or getOrSet fetchers) on misses. */
  readonly latency: Record<'memory' | 'redis' | 'handler', LatencySummary>;
  readonly redis: RedisServerSummary | null;
}

/** This instance's figures, with `shared` as the last read left it; no Redis call. */
export function statsReport(core: CacheCore): StatsReport {
  const { store, stats, instance, clock } = core;
  const circuit = store.circuit;
  const now = clock.now();
  const names = nameRecord(stats.names());
  return {
    generatedAt: new Date(now).toISOString(),
    instance: { id: instance.id, uptimeSeconds: Math.round((now - instance.startedAt) / 100) / 10 },
    tier: {
      state: store.state,
      breaker: circuit?.state ?? 'disabled',
      since: new Date(circuit?.since ?? instance.startedAt).toISOString(),
      pendingInvalidations: store.pendingInvalidations,
      redisErrors: store.redisErrors,
      memoryEntries: store.memory.size,
      memoryBytes: store.memory.bytes,
      nearCache: nearCacheState(core),
      servedFrom: { ...stats.servedFromCounts },
      refusedWrites: store.refusals.count,
    },
    names,
    totals: stats.totals(),
    shared: core.shared?.lastRead ?? null,
    latency: stats.latencySummary(),
    redis: null,
  };
}

/** `statsReport` plus all instances' figures and Redis's own, read now (each bounded to about a second). */
export async function collectStats(core: CacheCore): Promise<StatsReport> {
  await core.shared?.flush();
  const [shared, redis] = await Promise.all([core.shared?.read() ?? null, readRedisInfo(core.store)]);
  return { ...statsReport(core), shared, redis };
}
