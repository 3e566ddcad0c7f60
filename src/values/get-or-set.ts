import { performance } from 'node:perf_hooks';
import type { CacheCore } from '../core.js';
import { describeError, log } from '../observe/debug.js';
import { parseDuration, type Duration } from '../config/duration.js';
import { entryExpiresAt, entryTimes, type Lifetimes, type ValueEntry } from '../entry/entry.js';
import { CacheConfigError } from '../config/errors.js';
import { decodeValue, encodeValue } from '../entry/value-codec.js';

/** Options for `cache.getOrSet()`. */
export interface GetOrSetOptions<T> {
  /** How long the value stays fresh. @default the cache's `ttl` */
  ttl?: Duration;
  /** Tags to invalidate the value by. @default [] */
  tags?: readonly string[];
  /** Name its counters are kept under. @default 'getOrSet' */
  name?: string;
  /** Returned when the fetcher throws and nothing is cached. Without it, the fetcher's error is rethrown. */
  fallbackValue?: T;
  /** Return the expired value at once for this long after expiry and refresh it in the background. @default the cache's */
  staleWhileRevalidate?: Duration;
  /** Return the expired value for this long after expiry when the fetcher throws. @default the cache's */
  staleIfError?: Duration;
}

export const DEFAULT_VALUE_NAME = 'getOrSet';

/**
 * A value cache with a fallback: cached value if fresh; else one fetch per key among concurrent callers
 * in this process; the result stored in the background; a failing cache never stops the fetch; a failing fetch falls
 * back to a stale value, then to `fallbackValue`, then rethrows.
 */
export async function getOrSet<T>(core: CacheCore, key: string, fetch: () => T | Promise<T>, options: GetOrSetOptions<T> = {}): Promise<T> {
  if (typeof key !== 'string' || key === '') throw new CacheConfigError('getOrSet key', 'must be a non-empty string.');
  if (typeof fetch !== 'function') throw new CacheConfigError('getOrSet fetch', 'must be a function returning the value.');
  const settings = resolve(core, options);
  const storeKey = core.keys.value(key);
  const since = core.values.mark();
  const { entry: found, failed, tier } = await core.store.lookup(storeKey);
  if (failed) core.stats.count(settings.name, 'errors');
  const entry = found?.kind === 'value' ? found : undefined;
  const now = core.clock.now();
  if (entry && now < entry.freshUntil) {
    core.stats.count(settings.name, 'hits');
    core.stats.servedFrom(tier);
    return decodeValue(entry) as T;
  }
  if (entry && now < entry.staleWhileRevalidateUntil) {
    core.stats.count(settings.name, 'stale');
    core.stats.servedFrom(tier);
    void fetchAndStore(core, storeKey, since, fetch, settings).catch((error: unknown) => {
      if (log.middleware.enabled) log.middleware('getOrSet background refresh failed: %s', describeError(error));
    });
    return decodeValue(entry) as T;
  }
  try {
    const value = await fetchAndStore(core, storeKey, since, fetch, settings);
    core.stats.count(settings.name, 'misses');
    return value;
  } catch (error) {
    if (entry && core.clock.now() < entry.staleIfErrorUntil) {
      core.stats.count(settings.name, 'stale');
      return decodeValue(entry) as T;
    }
    core.stats.count(settings.name, 'misses');
    if ('fallbackValue' in options) return options.fallbackValue as T;
    throw error;
  }
}

interface Settings extends Lifetimes {
  readonly name: string;
  readonly tags: readonly string[];
}

function resolve<T>(core: CacheCore, options: GetOrSetOptions<T>): Settings {
  const policy = core.options.policy;
  if (options.tags !== undefined && !(Array.isArray(options.tags) && options.tags.every((t) => typeof t === 'string'))) {
    throw new CacheConfigError('getOrSet tags', 'must be an array of strings.');
  }
  return {
    name: options.name ?? DEFAULT_VALUE_NAME,
    freshMs: options.ttl === undefined ? policy.ttlMs : parseDuration(options.ttl, 'getOrSet ttl'),
    staleWhileRevalidateMs: options.staleWhileRevalidate === undefined ? policy.staleWhileRevalidateMs : parseDuration(options.staleWhileRevalidate, 'getOrSet staleWhileRevalidate'),
    staleIfErrorMs: options.staleIfError === undefined ? policy.staleIfErrorMs : parseDuration(options.staleIfError, 'getOrSet staleIfError'),
    tags: options.tags ?? [],
  };
}

/** One fetch per key among concurrent callers; the value is stored without making the caller wait for the store. */
function fetchAndStore<T>(core: CacheCore, storeKey: string, since: number, fetch: () => T | Promise<T>, settings: Settings): Promise<T> {
  return core.values.run(storeKey, async (hold) => {
    const started = performance.now();
    const value = await fetch();
    core.stats.latency.handler.record(performance.now() - started);
    // Callers get the value at once, and newcomers too until it is stored: a lookup sent before the store lands
    // would miss and fetch again.
    hold(value);
    await storeValue(core, storeKey, value, settings).catch(() => undefined);
    return value;
  }, since) as Promise<T>;
}

async function storeValue(core: CacheCore, storeKey: string, value: unknown, settings: Settings): Promise<void> {
  if (settings.freshMs <= 0) return;
  let encoded: ReturnType<typeof encodeValue>;
  try {
    encoded = encodeValue(value);
  } catch (error) {
    if (log.middleware.enabled) log.middleware('getOrSet value is not JSON-serialisable, not cached: %s', describeError(error));
    return;
  }
  if (!encoded) return;
  const now = core.clock.now();
  const entry: ValueEntry = { kind: 'value', ...encoded, name: settings.name, tags: settings.tags, ...entryTimes(now, settings) };
  const tagging = { tagKeys: settings.tags.map((tag) => core.keys.tag(tag)), nameKey: core.keys.name(settings.name) };
  if ((await core.store.set(storeKey, entry, entryExpiresAt(entry) - now, tagging)) !== undefined) core.stats.count(settings.name, 'stores');
}
