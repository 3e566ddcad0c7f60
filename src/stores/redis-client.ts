import { Redis, Cluster, type RedisOptions } from 'ioredis';
import { describeError, log } from '../observe/debug.js';

export type RedisLike = Redis | Cluster;

/** Settings that make a client fail fast instead of queueing: the reason this package exists. */
export function failFastOptions(redisTimeoutMs: number): RedisOptions {
  return {
    // While disconnected, reject at once instead of queueing commands the request path would wait on.
    enableOfflineQueue: false,
    // Never retry a command on another connection: the caller has already moved on to memory.
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    connectTimeout: Math.max(1000, redisTimeoutMs * 10),
    // A black-holed connection (no FIN, no RST) answers nothing: tear it down and reconnect.
    socketTimeout: Math.max(2000, redisTimeoutMs * 20),
    keepAlive: 5000,
    // A question to a Sentinel ("which node is the primary?") has no deadline of its own: a Sentinel that accepts the
    // connection and answers nothing (frozen, overloaded, a half-open socket) would hold the reconnect forever, and
    // the client would never reach the new primary. Past this it asks the next Sentinel.
    sentinelCommandTimeout: Math.max(500, redisTimeoutMs * 10),
    // ioredis waits this long for a 'close' that a refused or reset socket has already sent, holding the process
    // open after close(); a live connection says goodbye well within it.
    disconnectTimeout: 250,
    // Always retry, with capped, jittered backoff so many instances do not reconnect in lockstep.
    retryStrategy: (attempt: number) => Math.round(Math.min(1000, 50 * 2 ** Math.min(attempt, 5)) * (0.75 + Math.random() * 0.5)),
    reconnectOnError: () => false,
    lazyConnect: false,
  };
}

export interface OwnedClient {
  readonly client: RedisLike;
  /** True when the package created the client and so must close it. */
  readonly owned: boolean;
}

/** Turns the `redis` option into a client, creating one with fail-fast settings unless the user passed their own. */
export function createRedisClient(redis: unknown, redisTimeoutMs: number): OwnedClient {
  if (redis instanceof Redis || redis instanceof Cluster) return { client: redis, owned: false };
  if (isClientLike(redis)) return { client: redis as RedisLike, owned: false };
  const safe = failFastOptions(redisTimeoutMs);
  const client = typeof redis === 'string' ? new Redis(redis, safe) : new Redis(withFailFast(redis as RedisOptions, safe));
  // ioredis emits 'error' on every failed connection attempt; without a listener Node would crash the process.
  client.on('error', (error: unknown) => {
    if (log.redis.enabled) log.redis('client error: %s', describeError(error));
  });
  return { client, owned: true };
}

/**
 * The user's options under the fail-fast settings, which win: the request path depends on them. Except
 * `sentinelCommandTimeout`, which bounds no request (requests are on memory while the client looks for the primary)
 * but only how soon the cache is back on Redis: the user's own value, fitted to how far away their Sentinels are, wins.
 * A client the user built is left as it is (ioredis reads its options once, at construction): its Sentinel questions
 * are bounded only if they gave `sentinelCommandTimeout` themselves.
 */
function withFailFast(user: RedisOptions, safe: RedisOptions): RedisOptions {
  return { ...user, ...safe, sentinelCommandTimeout: user.sentinelCommandTimeout ?? safe.sentinelCommandTimeout };
}

/** A Redis or Cluster from another copy of ioredis fails `instanceof`; recognise it by shape. */
function isClientLike(value: unknown): boolean {
  return typeof value === 'object' && value !== null
    && typeof (value as { getBuffer?: unknown }).getBuffer === 'function'
    && typeof (value as { pipeline?: unknown }).pipeline === 'function';
}

export function isCluster(client: RedisLike): client is Cluster {
  return (client as { isCluster?: boolean }).isCluster === true;
}
