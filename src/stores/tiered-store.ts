import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Clock } from '../clock.js';
import type { Entry } from '../entry/entry.js';
import { describeError, log } from '../observe/debug.js';
import { CircuitBreaker, type BreakerState } from './circuit-breaker.js';
import { withDeadline } from './deadline.js';
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
  readonly memory: MemoryStore;
  readonly redis: RedisStore | undefined;
  readonly redisTimeoutMs: number;
  readonly failureThreshold: number;
  readonly openForMs: number;
  readonly clock: Clock;
  /** Called with each lookup's duration, for the latency histograms. */
  readonly onLookup?: (tier: TierName, ms: number) => void;
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

/** How a command sent for another part of the package (see `TieredStore.redisCommand`) is bounded and accounted. */
export interface CommandOptions {
  /** Past this the caller stops waiting (Redis has no cancel; the late reply is dropped). */
  readonly timeoutMs: number;
  /**
   * A call a request waits on (the fill lock): its failure is counted in `redisErrors` and told to the breaker, like a
   * lookup's. Calls off the request path (shared counters, health, INFO) only report failure to their caller.
   */
  readonly requestPath: boolean;
  /** Send even while the circuit is open: health wants to know whether Redis answers. */
  readonly whenOpen?: boolean;
}

/** Why a command was not sent: no Redis configured, or the circuit is open. Never counted as a Redis failure. */
export class RedisNotInUseError extends Error {
  override readonly name = 'RedisNotInUseError';
}

interface InflightWrite {
  readonly tagKeys: readonly string[];
  /** Set when an invalidation touched this key while its write was under way. */
  invalidated: boolean;
}

/**
 * Redis when it answers, memory when it does not, and the one door every Redis command passes through: deadlines,
 * the circuit breaker's bookkeeping and error counting live here. The memory tier is a fallback, not a front: while
 * Redis is healthy every instance reads the same entries, so an invalidation on one instance is seen by all. While the
 * circuit is open, reads and writes go to memory and invalidations are queued; when Redis answers again the queue is
 * applied first, then the memory tier (which may hold entries other instances have since invalidated) is dropped.
 *
 * Emits `degraded` (error) and `recovered`.
 */
export class TieredStore extends EventEmitter {
  readonly memory: MemoryStore;
  readonly #redis: RedisStore | undefined;
  readonly #breaker: CircuitBreaker | undefined;
  #redisErrors = 0;
  readonly #timeoutMs: number;
  readonly #onLookup: ((tier: TierName, ms: number) => void) | undefined;
  readonly #pending = { keys: new Set<string>(), tagKeys: new Set<string>() };
  readonly #inflight = new Map<string, InflightWrite>();
  #detach: () => void = () => undefined;

  constructor(options: TieredStoreOptions) {
    super();
    this.memory = options.memory;
    this.#redis = options.redis;
    this.#timeoutMs = options.redisTimeoutMs;
    this.#onLookup = options.onLookup;
    if (!this.#redis) return;
    const redis = this.#redis;
    const breaker = new CircuitBreaker({
      failureThreshold: options.failureThreshold,
      openForMs: options.openForMs,
      clock: options.clock,
      probe: () => this.#probe(),
    });
    this.#breaker = breaker;
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
    this.#detach = redis.watchConnection({
      ready: () => breaker.probeSoon(),
      // A closed connection fails every command at once: open now rather than after `failureThreshold` requests.
      close: () => breaker.open(new Error('Redis connection closed')),
    });
    if (!redis.ready) breaker.startOpen();
  }

  get state(): TierState {
    if (!this.#breaker) return 'memory-only';
    return this.#breaker.allows() ? 'redis' : 'memory';
  }

  /** The breaker's state and when it last changed, or undefined without Redis. */
  get circuit(): { readonly state: BreakerState; readonly since: number } | undefined {
    return this.#breaker && { state: this.#breaker.state, since: this.#breaker.since };
  }

  /** Redis calls that failed or missed their deadline. */
  get redisErrors(): number {
    return this.#redisErrors;
  }

  /** Invalidations waiting for Redis. */
  get pendingInvalidations(): number {
    return this.#pending.keys.size + this.#pending.tagKeys.size;
  }

  /**
   * The entry under `key` in the tier that serves now. Never rejects. Answers synchronously when memory serves (no
   * Redis, or the circuit is open): a memory hit then completes in the same tick, without a promise.
   */
  lookup(key: string): Lookup | Promise<Lookup> {
    if (this.#redis && this.#breaker?.allows()) return this.#fromRedis(key, this.#redis, this.#breaker);
    return this.#fromMemory(key, false);
  }

  /**
   * Stores in Redis, or in memory while the circuit is open; resolves to where, or undefined when the Redis write
   * failed (the entry is then simply not cached). Never rejects. In Redis the entry joins its tag sets and its name's
   * set; the memory tier indexes tags only and finds a name's entries by scanning (names are invalidated rarely, and an
   * index entry per cached response would cost more heap than the response's headers).
   */
  async set(key: string, entry: Entry, ttlMs: number, tagging: Tagging): Promise<TierName | undefined> {
    if (!this.#redis || !this.#breaker?.allows()) {
      this.memory.put(key, entry, ttlMs, tagging.tagKeys);
      return 'memory';
    }
    const started = performance.now();
    const setKeys = [...tagging.tagKeys, tagging.nameKey];
    const write: InflightWrite = { tagKeys: setKeys, invalidated: false };
    this.#inflight.set(key, write);
    const command = this.#redis.set(key, entry, ttlMs, setKeys);
    try {
      await withDeadline(command, this.#timeoutMs * 4, 'SET');
      this.#breaker.success();
      return 'redis';
    } catch (error) {
      // Not kept in memory: memory is read only while the circuit is open, and opening it clears memory (below).
      this.#failed(error, started);
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
    if (!this.#redis) return removed;
    if (this.#breaker?.allows()) {
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

  /**
   * Sends a command for another part of the package (the fill lock, shared counters, health, INFO) through the same
   * door as lookups: bounded by `timeoutMs` and accounted as `options` says. Rejects with `RedisNotInUseError`, sending
   * nothing, when Redis is not configured or (unless `whenOpen`) the circuit is open; with the command's error or a
   * `RedisTimeoutError` when it fails.
   */
  async redisCommand<T>(operation: string, command: (redis: RedisStore) => Promise<T>, options: CommandOptions): Promise<T> {
    const redis = this.#redis;
    if (!redis || !(options.whenOpen || this.#breaker?.allows())) throw new RedisNotInUseError(`Redis not in use for ${operation}`);
    const started = performance.now();
    try {
      return await withDeadline(command(redis), options.timeoutMs, operation);
    } catch (error) {
      if (options.requestPath) this.#failed(error, started);
      throw error;
    }
  }

  /** Stops the breaker's timers, takes every listener off the Redis client and closes it if the package created it. */
  async close(): Promise<void> {
    this.#breaker?.stop();
    this.#detach();
    await this.#redis?.close();
  }

  async #fromRedis(key: string, redis: RedisStore, breaker: CircuitBreaker): Promise<Lookup> {
    const started = performance.now();
    try {
      const entry = await withDeadline(redis.get(key), this.#timeoutMs, 'GET');
      breaker.success();
      this.#onLookup?.('redis', performance.now() - started);
      return { entry, tier: 'redis', failed: false };
    } catch (error) {
      this.#failed(error, started);
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
   * A Redis call on the request path failed or missed its deadline: counted, and told to the breaker. `started`: when
   * the call began (performance.now()), so overlapping failures count once.
   */
  #failed(error: unknown, started: number): void {
    this.#redisErrors++;
    if (log.redis.enabled) log.redis('redis call failed: %s', describeError(error));
    this.#breaker?.failure(error, started);
  }

  /** After a write to Redis settles (even long after its deadline), undo it if an invalidation overtook it. */
  async #settleWrite(key: string, write: InflightWrite, command: Promise<void>): Promise<void> {
    await command.catch(() => undefined);
    if (this.#inflight.get(key) === write) this.#inflight.delete(key);
    if (!write.invalidated || !this.#redis) return;
    try {
      await this.#redis.delete([key]);
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
    this.#redisErrors++;
    if (log.redis.enabled) log.redis('invalidation did not reach Redis: %s', describeError(error));
    this.#breaker?.open(error);
  }

  async #invalidateRedis(keys: readonly string[], tagKeys: readonly string[]): Promise<number> {
    const redis = this.#redis as RedisStore;
    // Bounded even on a client without socket timeouts (one the user passed in): past it, the removal is queued.
    const [byKey, byTag] = await withDeadline(Promise.all([redis.delete(keys), redis.deleteTagged(tagKeys)]),
      Math.max(1000, this.#timeoutMs * 20), 'invalidate');
    return byKey + byTag;
  }

  /** The half-open probe: Redis must answer, and queued invalidations must land, before traffic returns to it. */
  async #probe(): Promise<void> {
    const redis = this.#redis as RedisStore;
    await withDeadline(redis.ping(), Math.max(this.#timeoutMs * 4, 250), 'PING');
    if (this.pendingInvalidations === 0) return;
    const keys = [...this.#pending.keys];
    const tagKeys = [...this.#pending.tagKeys];
    await this.#invalidateRedis(keys, tagKeys);
    for (const key of keys) this.#pending.keys.delete(key);
    for (const tagKey of tagKeys) this.#pending.tagKeys.delete(tagKey);
    if (log.redis.enabled) log.redis('applied %d queued invalidations', keys.length + tagKeys.length);
  }
}
