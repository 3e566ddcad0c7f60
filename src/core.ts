import type { Clock } from './clock.js';
import type { Coalescer } from './coalescing/coalescer.js';
import type { FillLock } from './coalescing/fill-lock.js';
import type { ResolvedOptions } from './config/options.js';
import type { ResponseEntry } from './entry/entry.js';
import type { RequestKeys } from './http/keys.js';
import type { SharedCounters } from './observe/shared-counters.js';
import type { Stats } from './observe/stats.js';
import type { KeySpace } from './stores/key-space.js';
import type { TieredStore } from './stores/tiered-store.js';

/** A response one request produced that concurrent requests for the same key may be given. */
export interface SharedResponse {
  readonly entry: ResponseEntry;
  readonly label: 'HIT' | 'STALE' | 'MISS';
  /** The `Vary` fields and the leader's variant digest: a waiter whose headers select another variant runs its own. */
  readonly vary: readonly string[];
  readonly variant: string;
}

/** Everything the middleware, `getOrSet`, invalidation, health and stats share: one per `resilientCache()`. */
export interface CacheCore {
  readonly options: ResolvedOptions;
  readonly clock: Clock;
  readonly keys: KeySpace;
  /** Request text -> digest and response key, memoised for the hit path. */
  readonly requestKeys: RequestKeys;
  readonly store: TieredStore;
  readonly stats: Stats;
  /** All instances' counters in Redis; undefined without Redis. */
  readonly shared: SharedCounters | undefined;
  /** In-flight response fills by entry key. */
  readonly fills: Coalescer<SharedResponse | undefined>;
  /** In-flight `getOrSet` fetches by value key. */
  readonly values: Coalescer<unknown>;
  readonly lock: FillLock | undefined;
  /** Keys with a background refresh under way. */
  readonly refreshing: Set<string>;
  /** This process's cache, as the stats and health reports name it. */
  readonly instance: { readonly id: string; readonly startedAt: number };
  /** Set by `close()`: from then on requests go straight to their handlers. */
  closed: boolean;
}

/** Where a cache object keeps its internals, for the routers in this package and for tests. */
export const CORE = Symbol('express-resilient-cache.core');

/** The internals behind an object returned by `resilientCache()`. */
export function coreOf(cache: object): CacheCore {
  const core = (cache as Record<symbol, CacheCore | undefined>)[CORE];
  if (!core) throw new TypeError('expected the object returned by resilientCache()');
  return core;
}
