import type { Request } from 'express';
import type { Cluster, Redis, RedisOptions } from 'ioredis';
import type { Duration } from './duration.js';

// What users write (the option interfaces, with their defaults) and what the request path reads once they are
// checked (the Resolved* shapes). The checking itself is in resolve-options.ts.

/** Tags for a response: a list, or a function of the request (and response) returning one. */
export type TagsOption = readonly string[] | ((req: Request, res: import('express').Response) => readonly string[]);

/** Options shared by the app-wide middleware and `cache.route()`; a route's values win over the app's. */
export interface CachePolicyOptions {
  /**
   * How long a response stays fresh. With `ttlFrom: 'options'` the response's own freshness (`CDN-Cache-Control`,
   * `s-maxage`, `max-age`, `Expires`, less the `Age` it arrived with) can shorten it, never lengthen it; with
   * `ttlFrom: 'response'` it is the lifetime of responses that give none.
   * @default '60s'
   */
  ttl?: Duration;
  /**
   * Who decides a response's lifetime. `'options'`: `ttl`, shortened by what the response says. `'response'`: what
   * the response says (RFC 9111: `CDN-Cache-Control` first, then `s-maxage`, `max-age`, `Expires`), capped by
   * `maxTtl`; `ttl` only when it says nothing, and then only for statuses RFC 9110 calls heuristically cacheable.
   * In this mode `statuses` defaults to those statuses plus any a response gives explicit freshness (or `public`).
   * @default 'options'
   */
  ttlFrom?: 'options' | 'response';
  /**
   * With `ttlFrom: 'response'`, the longest lifetime a response may claim.
   * @default none
   */
  maxTtl?: Duration;
  /**
   * Serve an expired entry at once for this long after it expires, while one background request refreshes it.
   * `Cache-Control: stale-while-revalidate=N` on the response sets it for that response.
   * @default 0
   */
  staleWhileRevalidate?: Duration;
  /**
   * When the handler fails or answers 5xx, serve the expired entry if it expired less than this long ago.
   * `Cache-Control: stale-if-error=N` on the response sets it for that response.
   * @default 0
   */
  staleIfError?: Duration;
  /**
   * Response statuses that may be stored.
   * @default [200]
   */
  statuses?: readonly number[];
  /**
   * Cookies that never change a response (analytics, consent, A/B buckets): names, or patterns of names. A request
   * carrying any other cookie is neither answered from nor stored in the shared cache (`X-Cache: BYPASS`), since a
   * session cookie makes a page one user's; a request whose cookies are all listed is cached as if it carried none.
   * `true` says the route's response is the same for everyone whatever cookies come with the request (a public page
   * on a site with logins). A route that gives its own `key` caches requests with cookies under that key.
   * @default [] (any cookie makes a request personal)
   */
  ignoreCookies?: true | readonly (string | RegExp)[];
}

/** Options for one route: `cache.route({ ... })`. */
export interface RouteOptions extends CachePolicyOptions {
  /** Name the route's counters are kept under. @default the route's path pattern, e.g. `/users/:id` */
  name?: string;
  /** Tags to invalidate the route's entries by, e.g. `(req) => [\`user:${req.params.id}\`]`. @default [] */
  tags?: TagsOption;
  /**
   * The route's own cache key. A route that gives one opts in to caching requests that carry `Authorization` or
   * cookies: the key must then include whatever makes the response differ between users (`invalidate({ routeKeys })`
   * removes an entry by it).
   * @default protocol, host, path and sorted query
   */
  key?: (req: Request) => string;
}

/** Options for `resilientCache()`. */
export interface ResilientCacheOptions extends CachePolicyOptions {
  /**
   * Redis to cache in: a URL, ioredis options, or an ioredis `Redis` / `Cluster` you created (never closed by `close()`).
   * Leave it out to cache in memory only.
   * @default undefined (memory only)
   */
  redis?: string | RedisOptions | Redis | Cluster;
  /**
   * Namespace of every Redis key the package writes.
   * @default 'rc:'
   */
  prefix?: string;
  /** The in-memory tier: the whole cache without Redis, the fallback with it. */
  memory?: {
    /** @default 10_000 */
    maxEntries?: number;
    /** @default 64 MiB */
    maxBytes?: number;
  };
  /**
   * Responses larger than this stream through untouched and are not stored.
   * @default 1 MiB
   */
  maxBodyBytes?: number;
  /**
   * Deadline of each Redis call a request waits on; past it the request goes on from memory.
   * @default '50ms'
   */
  redisTimeout?: Duration;
  /**
   * Add `X-Cache: HIT | MISS | STALE | BYPASS` to responses of cached routes.
   * @default true
   */
  xCache?: boolean;
  /** The circuit breaker around Redis. */
  breaker?: {
    /** Consecutive Redis failures or timeouts that open the circuit. @default 5 */
    failureThreshold?: number;
    /** How long the circuit stays open before one probe tries Redis again. @default '1s' */
    openFor?: Duration;
  };
  /**
   * Cross-instance request coalescing: on a miss, one instance takes a short Redis lock and the others wait for its
   * entry instead of running the handler too. `true` uses the defaults.
   * @default false
   */
  lock?: boolean | {
    /** Lock lifetime: the longest a handler is expected to take. @default '5s' */
    ttl?: Duration;
    /** How long another instance waits for the entry before running the handler itself. @default '5s' */
    wait?: Duration;
  };
  /**
   * Longest a request waits for a concurrent request's response to the same entry (request coalescing) before it runs
   * its handler itself. A response known not to be shared (its headers say so, it is an event stream, its body
   * passed `maxBodyBytes`) releases the waiters at once; this bounds the wait for one that is slow to say.
   * @default '10s'
   */
  coalesceWait?: Duration;
  /**
   * Invalidate a URL's entries when an unsafe request (`POST`, `PUT`, `PATCH`, `DELETE`, any method but `GET`, `HEAD`,
   * `OPTIONS`, `TRACE`) to it gets a non-error response, with those of its same-origin `Location` and
   * `Content-Location` (RFC 9111 §4.4), in every tier and, with Redis, for every instance.
   * @default true
   */
  invalidateOnUnsafe?: boolean;
  /**
   * Add a `Cache-Status` header (RFC 9211) to responses of cached routes, e.g.
   * `Cache-Status: express-resilient-cache; hit; ttl=52` or `…; fwd=uri-miss; stored`. `true` names the cache
   * `express-resilient-cache`; a string names it so.
   * @default false
   */
  cacheStatus?: boolean | string;
  /**
   * Most distinct counter names kept; counts for names beyond it go to `(other)`, so no traffic can grow the stats
   * without bound. Names are route names and path patterns, and `getOrSet` names.
   * @default 500
   */
  maxNames?: number;
  /**
   * The near-cache: with Redis, the memory tier keeps copies of the Redis entries this instance has read or stored and
   * answers from them at memory speed, with no Redis call. Every instance hears of every change of an entry in Redis
   * (writes, invalidations, expiry, eviction by anyone) through Redis's own invalidation messages (server-assisted
   * client-side caching, Redis 6 or later), and drops its copy at once; while it cannot hear (a connection is down),
   * it keeps no copy. `false` reads Redis on every lookup. `serveDuringOutage: true` keeps serving copies, within their
   * lifetime, while Redis is out: faster through an outage, at the risk of serving an entry another instance has
   * invalidated meanwhile (by default an outage starts with an empty memory tier).
   * @default true
   */
  nearCache?: boolean | { serveDuringOutage?: boolean };
  /** Counters shared by all instances through Redis. */
  stats?: {
    /** How often local counts are flushed to Redis, off the request path. @default '1s' */
    flushInterval?: Duration;
    /** Rolling window of the shared counters. @default '24h' */
    window?: Duration;
  };
}

/** Policy values resolved to milliseconds, read per request without re-parsing. */
export interface ResolvedPolicy {
  readonly ttlMs: number;
  readonly ttlFrom: 'options' | 'response';
  readonly maxTtlMs: number;
  /** False when `statuses` was left out in `ttlFrom: 'response'` mode: the RFC's own rules then decide. */
  readonly statusesGiven: boolean;
  readonly staleWhileRevalidateMs: number;
  readonly staleIfErrorMs: number;
  readonly statuses: ReadonlySet<number>;
  readonly ignoreCookies: CookieRule;
}

/** `ignoreCookies` resolved: every cookie, or these names and patterns. */
export interface CookieRule {
  readonly all: boolean;
  readonly names: ReadonlySet<string>;
  readonly patterns: readonly RegExp[];
}

export interface ResolvedRoute {
  readonly policy: ResolvedPolicy;
  readonly name: string | undefined;
  readonly tags: TagsOption | undefined;
  readonly key: ((req: Request) => string) | undefined;
}

export interface ResolvedOptions {
  readonly redis: ResilientCacheOptions['redis'];
  readonly prefix: string;
  readonly maxEntries: number;
  readonly maxBytes: number;
  readonly maxBodyBytes: number;
  readonly redisTimeoutMs: number;
  readonly xCache: boolean;
  readonly failureThreshold: number;
  readonly openForMs: number;
  readonly lock: { readonly ttlMs: number; readonly waitMs: number } | undefined;
  readonly flushIntervalMs: number;
  readonly statsWindowMs: number;
  readonly maxNames: number;
  readonly coalesceWaitMs: number;
  readonly nearCache: boolean;
  readonly serveDuringOutage: boolean;
  readonly invalidateOnUnsafe: boolean;
  /** The cache's name in `Cache-Status`, or undefined for no header. */
  readonly cacheStatus: string | undefined;
  readonly policy: ResolvedPolicy;
}

/** Every default in one place. */
export const DEFAULTS = Object.freeze({
  ttl: '60s',
  staleWhileRevalidate: 0,
  staleIfError: 0,
  statuses: Object.freeze([200]),
  ignoreCookies: Object.freeze([] as string[]),
  maxNames: 500,
  coalesceWait: '10s',
  ttlFrom: 'options',
  invalidateOnUnsafe: true,
  cacheStatus: false,
  prefix: 'rc:',
  maxEntries: 10_000,
  maxBytes: 64 * 1024 * 1024,
  maxBodyBytes: 1024 * 1024,
  redisTimeout: '50ms',
  xCache: true,
  failureThreshold: 5,
  openFor: '1s',
  lockTtl: '5s',
  lockWait: '5s',
  flushInterval: '1s',
  statsWindow: '24h',
} as const);
