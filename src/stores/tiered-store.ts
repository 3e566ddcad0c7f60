import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { CircuitBreaker } from './circuit-breaker.js';
import { withDeadline } from './deadline.js';
import { describeError, log } from '../observe/debug.js';
import type { Entry } from '../entry/entry.js';
import type { MemoryStore } from './memory-store.js';
import type { RedisStore } from './redis-store.js';

export type TierName = 'memory' | 'redis';
/** `memory`: Redis is configured but out; `memory-only`: no Redis configured. */
export type TierState = 'redis' | 'memory' | 'memory-only';

export interface Lookup {
  readonly entry: Entry | undefined;
  readonly tier: TierName;
  /** True when Redis was asked and failed, so memory answered instead. */
  readonly failed: boolean;
}

export interface TieredStoreOptions {
  memory: MemoryStore;
  redis: RedisStore | undefined;
  redisTimeoutMs: number;
  failureThreshold: number;
  openForMs: number;
  /** Called with each lookup's duration, for the latency histograms. */
  onLookup?: (tier: TierName, ms: number) => void;
}

/** The sets an entry joins: its tags' and its name's (key names in the key space). */
export interface Tagging {
  readonly tagKeys: readonly string[];
  readonly nameKey: string;
}

/** What `invalidate` removes: entry keys, tags (as set keys), and names (as given, and as set keys). */
export interface InvalidationTarget {
  readonly keys: readonly string[];
  readonly tagKeys: readonly string[];
  readonly names: readonly string[];
  readonly nameKeys: readonly string[];
}

interface InflightWrite {
  readonly tagKeys: readonly string[];
  /** Set when an invalidation touched this key while its write was under way. */
  invalidated: boolean;
}

/**
 * Redis when it answers, memory when it does not. The memory tier is a fallback, not a front: while Redis is healthy
 * every instance reads the same entries, so an invalidation on one instance is seen by all. While the circuit is open,
 * reads and writes go to memory and invalidations are queued; when Redis answers again the queue is applied first,
 * then the memory tier (which may hold entries other instances have since invalidated) is dropped.
 *
 * Emits `degraded` (error) and `recovered`.
 */
export class TieredStore extends EventEmitter {
  readonly memory: MemoryStore;
  readonly redis: RedisStore | undefined;
  readonly breaker: CircuitBreaker | undefined;
  /** Redis calls that failed or missed their deadline. */
  redisErrors = 0;
  readonly #timeoutMs: number;
  readonly #onLookup: ((tier: TierName, ms: number) => void) | undefined;
  readonly #pending = { keys: new Set<string>(), tagKeys: new Set<string>() };
  readonly #inflight = new Map<string, InflightWrite>();
  #detach: () => void = () => undefined;

  constructor(options: TieredStoreOptions) {
    super();
    this.memory = options.memory;
    this.redis = options.redis;
    this.#timeoutMs = options.redisTimeoutMs;
    this.#onLookup = options.onLookup;
    if (!this.redis) return;
    const redis = this.redis;
    const breaker = new CircuitBreaker({
      failureThreshold: options.failureThreshold,
      openForMs: options.openForMs,
      probe: () => this.#probe(),
    });
    this.breaker = breaker;
    breaker.on('open', (error: unknown) => {
      // Memory holds only what was stored during this outage: anything older may have been invalidated since, by
      // another instance, in a Redis this one could not see.
      this.memory.clear();
      this.emit('degraded', error);
    });
    breaker.on('close', () => {
      this.memory.clear();
      this.emit('recovered');
    });
    const onReady = () => breaker.probeSoon();
    // A closed connection fails every command at once: open now rather than after `failureThreshold` requests.
    const onClose = () => breaker.open(new Error('Redis connection closed'));
    redis.client.on('ready', onReady);
    redis.client.on('close', onClose);
    this.#detach = () => {
      redis.client.off('ready', onReady);
      redis.client.off('close', onClose);
      redis.detach();
    };
    if (redis.client.status !== 'ready') breaker.startOpen();
  }

  get state(): TierState {
    if (!this.breaker) return 'memory-only';
    return this.breaker.allows() ? 'redis' : 'memory';
  }

  /** The entry under `key` in the tier that serves now. Never rejects. */
  async get(key: string): Promise<Lookup> {
    return this.lookup(key);
  }

  /**
   * Like `get`, but answers synchronously when memory serves (no Redis, or the circuit is open): a memory hit then
   * completes in the same tick, without a promise.
   */
  lookup(key: string): Lookup | Promise<Lookup> {
    if (this.redis && this.breaker?.allows()) return this.#fromRedis(key, this.redis, this.breaker);
    return this.#fromMemory(key, false);
  }

  async #fromRedis(key: string, redis: RedisStore, breaker: CircuitBreaker): Promise<Lookup> {
    const started = performance.now();
    try {
      const entry = await withDeadline(redis.get(key), this.#timeoutMs, 'GET');
      breaker.success();
      this.#onLookup?.('redis', performance.now() - started);
      return { entry, tier: 'redis', failed: false };
    } catch (error) {
      this.redisFailed(error, started);
      return this.#fromMemory(key, true);
    }
  }

  #fromMemory(key: string, failed: boolean): Lookup {
    const started = performance.now();
    const entry = this.memory.peek(key);
    this.#onLookup?.('memory', performance.now() - started);
    return { entry, tier: 'memory', failed };
  }

  /**
   * Stores in Redis, or in memory while the circuit is open; resolves to where, or undefined when the Redis write
   * failed (the entry is then simply not cached). Never rejects. In Redis the entry joins its tag sets
   * and its name's set; the memory tier indexes tags only and finds a name's entries by scanning (names are
   * invalidated rarely, and an index entry per cached response would cost more heap than the response's headers).
   */
  async set(key: string, entry: Entry, ttlMs: number, tagging: Tagging): Promise<TierName | undefined> {
    if (!this.redis || !this.breaker?.allows()) {
      this.memory.put(key, entry, ttlMs, tagging.tagKeys);
      return 'memory';
    }
    const started = performance.now();
    const setKeys = [...tagging.tagKeys, tagging.nameKey];
    const write: InflightWrite = { tagKeys: setKeys, invalidated: false };
    this.#inflight.set(key, write);
    const command = this.redis.set(key, entry, ttlMs, setKeys);
    try {
      await withDeadline(command, this.#timeoutMs * 4, 'SET');
      this.breaker.success();
      return 'redis';
    } catch (error) {
      // Not kept in memory: memory is read only while the circuit is open, and opening it clears memory (below).
      this.redisFailed(error, started);
      return undefined;
    } finally {
      void this.#settleWrite(key, write, command);
    }
  }

  /** Removes entries by key, tag and name from both tiers; what Redis cannot take now is applied when it returns. */
  async invalidate({ keys, tagKeys: onlyTagKeys, names, nameKeys }: InvalidationTarget): Promise<number> {
    const tagKeys = [...onlyTagKeys, ...nameKeys];
    for (const [key, write] of this.#inflight) {
      if (keys.includes(key) || write.tagKeys.some((t) => tagKeys.includes(t))) write.invalidated = true;
    }
    let removed = this.memory.delete(keys) + this.memory.deleteTagged(onlyTagKeys) + this.memory.deleteNamed(names);
    if (!this.redis) return removed;
    if (this.breaker?.allows()) {
      try {
        removed += await this.#invalidateRedis(keys, tagKeys);
        return removed;
      } catch (error) {
        this.#untrusted(error);
      }
    }
    for (const key of keys) this.#pending.keys.add(key);
    for (const tagKey of tagKeys) this.#pending.tagKeys.add(tagKey);
    if (log.redis.enabled) log.redis('invalidation queued until Redis answers (%d keys, %d tags)', keys.length, tagKeys.length);
    return removed;
  }

  /** Invalidations waiting for Redis. */
  get pendingInvalidations(): number {
    return this.#pending.keys.size + this.#pending.tagKeys.size;
  }

  /** Stops the breaker's timers and takes every listener off the Redis client (which may be the user's). */
  close(): void {
    this.breaker?.stop();
    this.#detach();
  }

  /**
   * A Redis call on the request path failed or missed its deadline: counted, and told to the breaker. Public for the
   * fill lock, which talks to the client itself. `started`: when the call began (performance.now()), so overlapping
   * failures count once.
   */
  redisFailed(error: unknown, started?: number): void {
    this.redisErrors++;
    if (log.redis.enabled) log.redis('redis call failed: %s', describeError(error));
    this.breaker?.failure(error, started);
  }

  /** After a write to Redis settles (even long after its deadline), undo it if an invalidation overtook it. */
  async #settleWrite(key: string, write: InflightWrite, command: Promise<void>): Promise<void> {
    await command.catch(() => undefined);
    if (this.#inflight.get(key) === write) this.#inflight.delete(key);
    if (!write.invalidated || !this.redis) return;
    try {
      await this.redis.delete([key]);
    } catch (error) {
      this.#pending.keys.add(key);
      this.#untrusted(error);
    }
  }

  /**
   * An invalidation Redis did not take leaves entries there that must not be served. Open the circuit at once
   * (reads go to memory, where the invalidation was applied) rather than count it as one failure among five: the
   * probe applies the queued invalidations before any read returns to Redis.
   */
  #untrusted(error: unknown): void {
    this.redisErrors++;
    if (log.redis.enabled) log.redis('invalidation did not reach Redis: %s', describeError(error));
    this.breaker?.open(error);
  }

  async #invalidateRedis(keys: readonly string[], tagKeys: readonly string[]): Promise<number> {
    const redis = this.redis as RedisStore;
    // Bounded even on a client without socket timeouts (one the user passed in): past it, the removal is queued.
    const [byKey, byTag] = await withDeadline(Promise.all([redis.delete(keys), redis.deleteTagged(tagKeys)]),
      Math.max(1000, this.#timeoutMs * 20), 'invalidate');
    return byKey + byTag;
  }

  /** The half-open probe: Redis must answer, and queued invalidations must land, before traffic returns to it. */
  async #probe(): Promise<void> {
    const redis = this.redis as RedisStore;
    await withDeadline(redis.client.ping(), Math.max(this.#timeoutMs * 4, 250), 'PING');
    if (this.pendingInvalidations === 0) return;
    const keys = [...this.#pending.keys];
    const tagKeys = [...this.#pending.tagKeys];
    await this.#invalidateRedis(keys, tagKeys);
    for (const key of keys) this.#pending.keys.delete(key);
    for (const tagKey of tagKeys) this.#pending.tagKeys.delete(tagKey);
    if (log.redis.enabled) log.redis('applied %d queued invalidations', keys.length + tagKeys.length);
  }
}
