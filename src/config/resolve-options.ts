import { parseDuration, type Duration } from './duration.js';
import { CacheConfigError } from './errors.js';
import {
  DEFAULTS, type CachePolicyOptions, type CookieRule, type ResilientCacheOptions, type ResolvedOptions, type ResolvedPolicy,
  type ResolvedRoute, type RouteOptions,
} from './options.js';
import { suggest } from './suggest.js';

const POLICY_KEYS = ['ttl', 'ttlFrom', 'maxTtl', 'staleWhileRevalidate', 'staleIfError', 'statuses', 'ignoreCookies'] as const;
const TOP_LEVEL_KEYS = ['redis', 'prefix', 'memory', 'maxBodyBytes', 'redisTimeout', 'xCache', 'cacheStatus', 'breaker', 'lock',
  'stats', 'maxNames', 'coalesceWait', 'invalidateOnUnsafe', 'nearCache', ...POLICY_KEYS] as const;
const ROUTE_KEYS = [...POLICY_KEYS, 'name', 'tags', 'key'] as const;

/**
 * Validates `resilientCache()` options once, at setup, and resolves them to what the request path reads.
 * `null` means the same as leaving an option out, for every option.
 */
export function resolveOptions(input: unknown): ResolvedOptions {
  const options = checkObject(input ?? {}, 'options', TOP_LEVEL_KEYS) as ResilientCacheOptions;
  const memory = checkObject(options.memory ?? {}, 'memory', ['maxEntries', 'maxBytes']) as NonNullable<ResilientCacheOptions['memory']>;
  const breaker = checkObject(options.breaker ?? {}, 'breaker', ['failureThreshold', 'openFor']) as NonNullable<ResilientCacheOptions['breaker']>;
  const stats = checkObject(options.stats ?? {}, 'stats', ['flushInterval', 'window']) as NonNullable<ResilientCacheOptions['stats']>;
  checkRedis(options.redis);
  return Object.freeze({
    redis: options.redis ?? undefined,
    prefix: checkPrefix(options.prefix ?? DEFAULTS.prefix),
    maxEntries: checkCount(memory.maxEntries ?? DEFAULTS.maxEntries, 'memory.maxEntries'),
    maxBytes: checkCount(memory.maxBytes ?? DEFAULTS.maxBytes, 'memory.maxBytes'),
    maxBodyBytes: checkCount(options.maxBodyBytes ?? DEFAULTS.maxBodyBytes, 'maxBodyBytes'),
    redisTimeoutMs: parseDuration(options.redisTimeout ?? DEFAULTS.redisTimeout, 'redisTimeout', { allowZero: false }),
    xCache: checkBoolean(options.xCache ?? DEFAULTS.xCache, 'xCache'),
    failureThreshold: checkCount(breaker.failureThreshold ?? DEFAULTS.failureThreshold, 'breaker.failureThreshold'),
    openForMs: parseDuration(breaker.openFor ?? DEFAULTS.openFor, 'breaker.openFor', { allowZero: false }),
    lock: resolveLock(options.lock),
    flushIntervalMs: parseDuration(stats.flushInterval ?? DEFAULTS.flushInterval, 'stats.flushInterval', { allowZero: false }),
    statsWindowMs: parseDuration(stats.window ?? DEFAULTS.statsWindow, 'stats.window', { allowZero: false }),
    maxNames: checkCount(options.maxNames ?? DEFAULTS.maxNames, 'maxNames'),
    coalesceWaitMs: parseDuration(options.coalesceWait ?? DEFAULTS.coalesceWait, 'coalesceWait'),
    invalidateOnUnsafe: checkBoolean(options.invalidateOnUnsafe ?? DEFAULTS.invalidateOnUnsafe, 'invalidateOnUnsafe'),
    ...resolveNearCache(options.nearCache),
    cacheStatus: resolveCacheStatus(options.cacheStatus ?? DEFAULTS.cacheStatus),
    policy: resolvePolicy(options, undefined, ''),
  });
}

/** Validates `cache.route()` options; values it leaves out come from the app-wide policy. */
export function resolveRouteOptions(input: unknown, base: ResolvedPolicy): ResolvedRoute {
  const options = checkObject(input ?? {}, 'route', ROUTE_KEYS) as RouteOptions;
  if (options.name != null && (typeof options.name !== 'string' || options.name === '')) {
    throw new CacheConfigError('route.name', 'must be a non-empty string.');
  }
  if (options.tags != null && typeof options.tags !== 'function' && !isStringArray(options.tags)) {
    throw new CacheConfigError('route.tags', 'must be an array of strings or a function (req, res) => string[].');
  }
  if (options.key != null && typeof options.key !== 'function') {
    throw new CacheConfigError('route.key', 'must be a function (req) => string.');
  }
  return Object.freeze({
    policy: resolvePolicy(options, base, 'route.'),
    name: options.name ?? undefined,
    tags: options.tags ?? undefined,
    key: options.key ?? undefined,
  });
}

function resolvePolicy(options: CachePolicyOptions, base: ResolvedPolicy | undefined, path: string): ResolvedPolicy {
  const ttlFrom = options.ttlFrom ?? base?.ttlFrom ?? DEFAULTS.ttlFrom;
  if (ttlFrom !== 'options' && ttlFrom !== 'response') {
    throw new CacheConfigError(`${path}ttlFrom`, `must be 'options' (ttl, shortened by the response) or 'response' (the response decides).`);
  }
  if (options.maxTtl != null && ttlFrom !== 'response') {
    throw new CacheConfigError(`${path}maxTtl`, "caps what a response claims, so it needs ttlFrom: 'response' (with 'options', ttl is the cap).");
  }
  // In 'response' mode, left out, the RFC's own rules decide which statuses may be stored.
  const statusesGiven = options.statuses != null || (base?.statusesGiven ?? ttlFrom === 'options');
  const statuses = options.statuses ?? (base ? undefined : DEFAULTS.statuses);
  if (statuses !== undefined && (!Array.isArray(statuses) || !statuses.every((s) => Number.isInteger(s) && s >= 200 && s <= 599))) {
    throw new CacheConfigError(`${path}statuses`, 'must be an array of HTTP status codes between 200 and 599, e.g. [200, 404].');
  }
  const duration = (key: 'ttl' | 'staleWhileRevalidate' | 'staleIfError', fallback: number | undefined, dflt: Duration) =>
    options[key] != null ? parseDuration(options[key], `${path}${key}`) : fallback ?? parseDuration(dflt, key);
  return Object.freeze({
    ttlMs: duration('ttl', base?.ttlMs, DEFAULTS.ttl),
    ttlFrom,
    maxTtlMs: options.maxTtl != null ? parseDuration(options.maxTtl, `${path}maxTtl`, { allowZero: false }) : base?.maxTtlMs ?? Infinity,
    statusesGiven,
    staleWhileRevalidateMs: duration('staleWhileRevalidate', base?.staleWhileRevalidateMs, DEFAULTS.staleWhileRevalidate),
    staleIfErrorMs: duration('staleIfError', base?.staleIfErrorMs, DEFAULTS.staleIfError),
    statuses: statuses ? new Set(statuses) : (base as ResolvedPolicy).statuses,
    ignoreCookies: options.ignoreCookies != null ? resolveCookieRule(options.ignoreCookies, `${path}ignoreCookies`)
      : base?.ignoreCookies ?? resolveCookieRule(DEFAULTS.ignoreCookies, 'ignoreCookies'),
  });
}

/** Cookie names are RFC 6265 tokens: a string that is not one can never match a cookie, so it is a mistake. */
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function resolveCookieRule(value: unknown, path: string): CookieRule {
  if (value === true) return Object.freeze({ all: true, names: new Set<string>(), patterns: [] });
  const fix = 'must be true (every cookie) or a list of cookie names and RegExps, e.g. [\'_ga\', /^_utm/].';
  if (!Array.isArray(value)) throw new CacheConfigError(path, fix);
  const names = new Set<string>();
  const patterns: RegExp[] = [];
  for (const item of value as unknown[]) {
    if (item instanceof RegExp) patterns.push(new RegExp(item.source, item.flags.replace(/[gy]/g, '')));
    else if (typeof item === 'string' && COOKIE_NAME.test(item)) names.add(item);
    else throw new CacheConfigError(path, `${fix} ${JSON.stringify(String(item))} is not a cookie name.`);
  }
  return Object.freeze({ all: false, names, patterns: Object.freeze(patterns) });
}

function resolveNearCache(value: unknown): { nearCache: boolean; serveDuringOutage: boolean } {
  if (value == null || value === true) return { nearCache: true, serveDuringOutage: false };
  if (value === false) return { nearCache: false, serveDuringOutage: false };
  const near = checkObject(value, 'nearCache', ['serveDuringOutage']) as { serveDuringOutage?: boolean };
  return { nearCache: true, serveDuringOutage: checkBoolean(near.serveDuringOutage ?? false, 'nearCache.serveDuringOutage') };
}

function resolveCacheStatus(value: unknown): string | undefined {
  if (value === false) return undefined;
  if (value === true) return 'express-resilient-cache';
  // An sf-token, as RFC 9211 names caches: it goes into the header as it is.
  if (typeof value === 'string' && /^[A-Za-z*][A-Za-z0-9:/!#$%&'*+\-.^_`|~]*$/.test(value)) return value;
  throw new CacheConfigError('cacheStatus', "must be true, false, or the cache's name as a token, e.g. 'edge-cache'.");
}

function resolveLock(lock: ResilientCacheOptions['lock']): ResolvedOptions['lock'] {
  if (lock == null || lock === false) return undefined;
  if (lock === true) return { ttlMs: parseDuration(DEFAULTS.lockTtl, 'lock.ttl'), waitMs: parseDuration(DEFAULTS.lockWait, 'lock.wait') };
  const value = checkObject(lock, 'lock', ['ttl', 'wait']) as { ttl?: Duration; wait?: Duration };
  return Object.freeze({
    ttlMs: parseDuration(value.ttl ?? DEFAULTS.lockTtl, 'lock.ttl', { allowZero: false }),
    waitMs: parseDuration(value.wait ?? DEFAULTS.lockWait, 'lock.wait'),
  });
}

function checkObject(value: unknown, path: string, known: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CacheConfigError(path, `must be an object, not ${Array.isArray(value) ? 'an array' : typeof value}.`);
  }
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      const guess = suggest(key, known);
      const where = path === 'options' ? key : `${path}.${key}`;
      throw new CacheConfigError(where, `is not an option${guess ? `; did you mean \`${guess}\`?` : `. Known options: ${known.join(', ')}.`}`);
    }
  }
  return value as Record<string, unknown>;
}

function checkRedis(redis: unknown): void {
  if (redis == null || typeof redis === 'string' || (typeof redis === 'object' && redis !== null && !Array.isArray(redis))) {
    if (typeof redis === 'string' && !/^rediss?:\/\//.test(redis)) {
      throw new CacheConfigError('redis', 'must be a URL starting with redis:// or rediss://, ioredis options, or an ioredis client.');
    }
    return;
  }
  throw new CacheConfigError('redis', 'must be a URL, ioredis options, an ioredis Redis or Cluster, or left out for memory only.');
}

function checkPrefix(prefix: unknown): string {
  if (typeof prefix !== 'string' || prefix.length > 64 || /[\s{}]/.test(prefix)) {
    throw new CacheConfigError('prefix', 'must be a string of at most 64 characters without spaces or braces, e.g. \'rc:\'.');
  }
  return prefix;
}

function checkCount(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new CacheConfigError(path, `must be a whole number of 1 or more, not ${String(value)}.`);
  }
  return value;
}

function checkBoolean(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') throw new CacheConfigError(path, 'must be true or false.');
  return value;
}

function isStringArray(value: unknown): value is readonly string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}
