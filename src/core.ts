import type { ResponseEntry } from './entry/entry.js';
import type { Coalescer } from './coalescing/coalescer.js';
import type { KeySpace, RequestKeys } from './http/keys.js';
import type { ResolvedOptions } from './config/options.js';
import type { Stats } from './observe/stats.js';
import type { TieredStore } from './stores/tiered-store.js';
import type { FillLock } from './coalescing/fill-lock.js';

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
  readonly keys: KeySpace;
  /** Request text -> digest and response key, memoised for the hit path. */
  readonly requestKeys: RequestKeys;
  readonly store: TieredStore;
  readonly stats: Stats;
  /** In-flight response fills by entry key. */
  readonly fills: Coalescer<SharedResponse | undefined>;
  /** In-flight `getOrSet` fetches by value key. */
  readonly values: Coalescer<unknown>;
  readonly lock: FillLock | undefined;
  /** Keys with a background refresh under way. */
  readonly refreshing: Set<string>;
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
