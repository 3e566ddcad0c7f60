import type { CacheCore } from '../core.js';
import type { LatencySummary } from './histogram.js';
import type { NameStats } from './stats.js';
import type { TierState } from '../stores/tiered-store.js';

/** Figures Redis reports about itself (from INFO), for the stats page. */
export interface RedisServerSummary {
  readonly usedMemory: string;
  readonly usedMemoryBytes: number;
  readonly connectedClients: number;
  readonly totalCommandsProcessed: number;
  readonly keyspaceHits: number;
  readonly keyspaceMisses: number;
}

/** All instances' figures, read from Redis. */
export interface SharedStats {
  readonly names: Record<string, NameStats>;
  readonly totals: NameStats;
  readonly windowSeconds: number;
}

/** What `cache.stats()` returns and the stats router serves. */
export interface StatsReport {
  readonly generatedAt: string;
  readonly instance: { readonly id: string; readonly uptimeSeconds: number };
  readonly tier: {
    readonly state: TierState;
    readonly breaker: 'closed' | 'open' | 'half-open' | 'disabled';
    readonly since: string;
    readonly pendingInvalidations: number;
    readonly redisErrors: number;
    readonly memoryEntries: number;
    readonly memoryBytes: number;
  };
  readonly names: Record<string, NameStats>;
  readonly totals: NameStats;
  readonly shared: SharedStats | null;
  /** Over the last minute: lookups per tier, and handlers (or getOrSet fetchers) on misses. */
  readonly latency: Record<'memory' | 'redis' | 'handler', LatencySummary>;
  readonly redis: RedisServerSummary | null;
}

/** This instance's figures; `shared` and `redis` are filled by the caller when it has read them. */
export function localReport(core: CacheCore, instance: { id: string; startedAt: number }, startedAt = instance.startedAt): StatsReport {
  const breaker = core.store.breaker;
  const names: Record<string, NameStats> = {};
  for (const stats of core.stats.names()) names[stats.name] = stats;
  return {
    generatedAt: new Date().toISOString(),
    instance: { id: instance.id, uptimeSeconds: Math.round((Date.now() - startedAt) / 100) / 10 },
    tier: {
      state: core.store.state,
      breaker: breaker?.state ?? 'disabled',
      since: new Date(breaker?.since ?? startedAt).toISOString(),
      pendingInvalidations: core.store.pendingInvalidations,
      redisErrors: core.store.redisErrors,
      memoryEntries: core.store.memory.size,
      memoryBytes: core.store.memory.bytes,
    },
    names,
    totals: core.stats.totals(),
    shared: null,
    latency: core.stats.latencySummary(),
    redis: null,
  };
}
