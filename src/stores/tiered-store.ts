import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock, Timer } from '../clock.js';
import type { Entry } from '../entry/entry.js';
import { describeError, log } from '../observe/debug.js';
import { CircuitBreaker, type BreakerState } from './circuit-breaker.js';
import { withDeadline } from './deadline.js';
import { MemoryCopies, type TagKeysOf } from './memory-copies.js';
import { NEAR_CACHE_LEASE_MS } from './near-cache.js';
import type { MemoryStore } from './memory-store.js';
import type { RedisStore } from './redis-store.js';

/** Where a lookup was answered: a near-cache copy of a Redis entry, Redis, or the memory tier on its own. */
export type TierName = 'near' | 'memory' | 'redis';
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
  /** Keep near-cache copies of Redis entries (see NearCache). */
  readonly nearCache: boolean;
  /** Keep serving near-cache copies, within their lifetime, through a Redis outage (instead of dropping them). */
  readonly serveDuringOutage: boolean;
  /** This instance, for the invalidations it publishes. */
  readonly instance: string;
  /** Key prefixes of entries (responses, values), whose changes the near-cache tracks, and the channel of invalidations. */
  readonly tracked: { readonly prefixes: readonly string[]; readonly channel: string };
  /** The tag and name sets an entry's memory copy belongs to. */
  readonly tagKeysOf: TagKeysOf;
  /** A key of this instance's own, written now and then while Redis refuses writes, to see when it takes them again. */
  readonly writeProbeKey: string;
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

/** How often a Redis that refuses writes is asked whether it takes them again. */
const WRITE_PROBE_EVERY_MS = 1000;

/** Why a command was not sent: no Redis configured, or the circuit is open. Never counted as a Redis failure. */
export class RedisNotInUseError extends Error {
  override readonly name = 'RedisNotInUseError';
}

interface InflightWrite {
  readonly tagKeys: readonly string[];
  /** The entry's name (a vary entry has none): another instance's invalidation by name names it so. */
  readonly name: string | undefined;
  /** Set when an invalidation touched this key while its write was under way. */
  invalidated: boolean;
}

/** Why Redis would not take a write: full under noeviction (`OOM`), a read-only replica (`READONLY`); else undefined. */
export function refusalReason(error: unknown): 'OOM' | 'READONLY' | undefined {
  const message = String((error as Error | undefined)?.message ?? '');
  return message.startsWith('OOM') ? 'OOM' : message.startsWith('READONLY') ? 'READONLY' : undefined;
}

/** Redis's answer to a write it will not take (full under noeviction, a read-only replica): not a failure of Redis. */
export function isRefusal(error: unknown): boolean {
  return refusalReason(error) !== undefined;
}

/**
 * Redis when it answers, memory when it does not, and the one door every Redis command passes through: deadlines,
 * the circuit breaker's bookkeeping and error counting live here. While Redis is healthy every instance reads the
 * same entries, so an invalidation on one instance is seen by all; the memory tier then holds near-cache copies of
 * Redis entries, served at memory speed and kept coherent by Redis's own invalidation messages (MemoryCopies,
 * NearCache), and entries Redis refused to store. While the circuit is open, reads and writes go to memory and
 * invalidations are queued; when Redis answers again the queue is applied first, then the memory tier (which may
 * hold entries other instances have since invalidated) is dropped.
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
  readonly #copies: MemoryCopies | undefined;
  readonly #clock: Clock;
  #refusedWrites = 0;
  #refusedBecause: 'OOM' | 'READONLY' | undefined;
  /** When Redis last refused a write, and last took one (epoch ms): writes are failing while the first is later. */
  #lastRefusedAt = 0;
  #lastWrittenAt = 0;
  #writeProbe: Timer | undefined;
  readonly #writeProbeKey: string;
  /** When keys were last tombstoned here (epoch ms): an entry made later is a refill, newer than every tombstone. */
  #tombstonedAt = 0;
  /** When (performance.now()) the circuit last opened. */
  #openedAt = Number.NEGATIVE_INFINITY;
  readonly #nearCache: boolean;
  #detach: () => void = () => undefined;

  constructor(options: TieredStoreOptions) {
    super();
    this.memory = options.memory;
    this.#redis = options.redis;
    this.#timeoutMs = options.redisTimeoutMs;
    this.#onLookup = options.onLookup;
    this.#clock = options.clock;
    this.#writeProbeKey = options.writeProbeKey;
    this.#nearCache = options.nearCache;
    if (!this.#redis) return;
    const redis = this.#redis;
    const near = options.nearCache ? redis.nearCache({
      prefixes: options.tracked.prefixes,
      channel: options.tracked.channel,
      instance: options.instance,
      onKeys: (keys) => this.#copies?.changed(keys),
      onPublished: (message) => {
        // A write of ours Redis is about to refuse would keep, in memory only, what the other instance removed.
        this.#overtakeWrites(message.keys, message.tagKeys, message.names);
        this.#copies?.published(message, (keys) => void this.#tombstone(keys, []));
      },
      // With the circuit open, memory holds what this outage stored: that stays (the breaker decides about it).
      onLost: () => {
        if (this.#breaker?.allows()) this.#copies?.drop();
      },
    }) : undefined;
    this.#copies = new MemoryCopies(this.memory, near, options.clock, options.tagKeysOf);
    const breaker = new CircuitBreaker({
      failureThreshold: options.failureThreshold,
      openForMs: options.openForMs,
      clock: options.clock,
      probe: () => this.#probe(),
    });
    this.#breaker = breaker;
    breaker.on('open', (error: unknown) => {
      this.#openedAt = performance.now();
      // Memory holds only what was stored during this outage: anything older may have been invalidated since, by
      // another instance, in a Redis this one could not see. Unless the app opted in to serving copies through it.
      if (!options.serveDuringOutage) this.#copies?.drop();
      this.emit('degraded', error);
    });
    breaker.on('close', () => {
      this.#copies?.drop();
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

  /** True while near-cache copies are served and kept (Redis reports every change to this instance). */
  get nearCacheLive(): boolean {
    return this.#copies?.live === true;
  }

  /**
   * Writes Redis refused, whether the last write was one (writes are failing now), and why: `OOM` (full, with the
   * noeviction policy) or `READONLY` (a replica).
   */
  get refusals(): { readonly count: number; readonly failing: boolean; readonly reason: 'OOM' | 'READONLY' | undefined } {
    return { count: this.#refusedWrites, failing: this.#lastRefusedAt > this.#lastWrittenAt, reason: this.#refusedBecause };
  }

  /**
   * The entry under `key` in the tier that serves now. Never rejects. Answers synchronously when memory serves (no
   * Redis, or the circuit is open): a memory hit then completes in the same tick, without a promise.
   */
  lookup(key: string): Lookup | Promise<Lookup> {
    if (this.#redis && this.#breaker?.allows()) {
      const copy = (this.#copies as MemoryCopies).peek(key);
      if (copy) return this.#answered(copy, 'near');
      return this.#fromRedis(key, this.#redis, this.#breaker);
    }
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
    const write: InflightWrite = { tagKeys: setKeys, name: entry.kind === 'vary' ? undefined : entry.name, invalidated: false };
    this.#inflight.set(key, write);
    const copies = this.#copies as MemoryCopies;
    const ticket = copies.ticket(key);
    const command = this.#redis.set(key, entry, ttlMs, setKeys);
    try {
      await withDeadline(command, this.#timeoutMs * 4, 'SET');
      this.#breaker.success();
      // Redis takes writes again: what it refused meanwhile goes, to be stored there (and shared) by the next fill.
      if (this.#lastRefusedAt > this.#lastWrittenAt) copies.dropRefused();
      this.#lastWrittenAt = this.#clock.now();
      copies.keep(ticket, key, write.invalidated ? undefined : entry);
      return 'redis';
    } catch (error) {
      copies.keep(ticket, key, undefined);
      if (isRefusal(error)) return this.#refused(key, write.invalidated ? undefined : entry, error);
      // Not kept in memory: a copy is kept only of what Redis holds, and opening the circuit clears memory.
      this.#failed(error, started);
      return undefined;
    } finally {
      void this.#settleWrite(key, write, command);
    }
  }

  /** Removes entries by key, tag and name from both tiers; what Redis cannot take now is applied when it returns. */
  async invalidate({ keys, tagKeys: onlyTagKeys, names, nameKeys }: InvalidationTarget): Promise<number> {
    const tagKeys = [...onlyTagKeys, ...nameKeys];
    this.#overtakeWrites(keys, tagKeys, names);
    if (!this.#redis) {
      return this.memory.delete(keys).length + this.memory.deleteTagged(onlyTagKeys).length + this.memory.deleteNamed(names).length;
    }
    const copies = this.#copies as MemoryCopies;
    if (!this.#breaker?.allows()) {
      // The outage's own entries: all of them are this instance's.
      const removed = this.memory.delete(keys).length + this.memory.deleteTagged(onlyTagKeys).length + this.memory.deleteNamed(names).length;
      this.#queue(keys, tagKeys);
      await this.#othersCopiesGone();
      return removed;
    }
    // Copies of Redis entries count where they live, in Redis; entries Redis refused count here.
    let removed = copies.forget(keys, onlyTagKeys, names);
    try {
      const { removed: inRedis, keys: touched } = await this.#invalidateRedis(keys, tagKeys);
      // A lookup under way may have kept a copy of an entry just deleted: nothing of ours tells us (NOLOOP).
      copies.forgotten([...keys, ...touched]);
      // Awaited, as the DEL was: instances holding entries Redis refused have dropped them when this resolves.
      await this.#publish(keys, onlyTagKeys, names, false);
      return removed + inRedis;
    } catch (error) {
      if (isRefusal(error)) return removed + (await this.#refusedInvalidation(keys, onlyTagKeys, names, nameKeys, error));
      this.#untrusted(error);
    }
    this.#queue(keys, tagKeys);
    return removed;
  }

  /**
   * Other instances serve their copies until their lease runs out, at most NEAR_CACHE_LEASE_MS after Redis last
   * answered them, which was before this circuit opened: an invalidation queued sooner than that resolves only then,
   * so that none serves the old entry after it resolved. (An invalidation that timed out waited longer than the lease.)
   */
  async #othersCopiesGone(): Promise<void> {
    const wait = this.#openedAt + NEAR_CACHE_LEASE_MS - performance.now();
    if (this.#nearCache && wait > 0) await sleep(wait);
  }

  #queue(keys: readonly string[], tagKeys: readonly string[]): void {
    for (const key of keys) this.#pending.keys.add(key);
    for (const tagKey of tagKeys) this.#pending.tagKeys.add(tagKey);
    if (log.redis.enabled) log.redis('invalidation queued until Redis answers (%d keys, %d tags)', keys.length, tagKeys.length);
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
      // A refused write (the fill lock on a replica, or on a full Redis) is an answer: Redis is up and serves reads.
      if (options.requestPath && !isRefusal(error)) this.#failed(error, started);
      throw error;
    }
  }

  /** Stops the breaker's timers, takes every listener off the Redis client and closes it if the package created it. */
  async close(): Promise<void> {
    this.#breaker?.stop();
    this.#clock.clearTimer(this.#writeProbe);
    this.#copies?.close();
    this.#detach();
    await this.#redis?.close();
  }

  #answered(entry: Entry, tier: TierName): Lookup {
    this.#onLookup?.(tier, 0);
    return { entry, tier, failed: false };
  }

  async #fromRedis(key: string, redis: RedisStore, breaker: CircuitBreaker): Promise<Lookup> {
    const started = performance.now();
    const copies = this.#copies as MemoryCopies;
    const ticket = copies.ticket(key);
    try {
      const found = await withDeadline(redis.get(key), this.#timeoutMs, 'GET');
      breaker.success();
      this.#onLookup?.('redis', performance.now() - started);
      const entry = found && this.#invalidatedInRedis(key, found) ? undefined : found;
      copies.keep(ticket, key, entry);
      return { entry, tier: 'redis', failed: false };
    } catch (error) {
      copies.keep(ticket, key, undefined);
      this.#failed(error, started);
      return this.#fromMemory(key, true);
    }
  }

  /**
   * A key whose invalidation Redis refused is gone, whatever Redis still holds, until it would have expired; unless
   * the entry there was made after the invalidation (a refill, once Redis took writes again), which is served.
   */
  #invalidatedInRedis(key: string, entry: Entry): boolean {
    return entry.createdAt <= this.#tombstonedAt && (this.#copies as MemoryCopies).tombstoned(key);
  }

  #noteRefusal(error: unknown): void {
    this.#refusedWrites++;
    this.#lastRefusedAt = this.#clock.now();
    this.#refusedBecause = refusalReason(error);
    // Hits may keep every request away from Redis's writes: ask it now and then whether it takes them again.
    this.#writeProbe ??= this.#clock.setInterval(() => void this.#probeWrites(), WRITE_PROBE_EVERY_MS);
  }

  /** One small write: taken, the refusals are over (what memory kept for them goes, to be stored in Redis again). */
  async #probeWrites(): Promise<void> {
    if (!this.#redis || !this.#breaker?.allows()) return;
    try {
      await withDeadline(this.#redis.writeProbe(this.#writeProbeKey), this.#timeoutMs * 4, 'write probe');
    } catch (error) {
      if (!isRefusal(error) && log.redis.enabled) log.redis('write probe failed: %s', describeError(error));
      return;
    }
    this.#clock.clearTimer(this.#writeProbe);
    this.#writeProbe = undefined;
    (this.#copies as MemoryCopies).dropRefused();
    this.#lastWrittenAt = this.#clock.now();
    if (log.redis.enabled) log.redis('Redis takes writes again');
  }

  /**
   * Redis would not store the entry: kept in this instance's memory and served from there; counted, not a failure.
   * Not kept (`entry` undefined) when an invalidation came while the write was on its way: it has removed what
   * memory held already, and this entry is what it meant to remove.
   */
  #refused(key: string, entry: Entry | undefined, error: unknown): TierName | undefined {
    this.#noteRefusal(error);
    if (log.redis.enabled) log.redis('Redis refused a write (%s); %s', describeError(error), entry ? 'kept in memory' : 'invalidated meanwhile');
    if (!entry) return undefined;
    (this.#copies as MemoryCopies).keepRefused(key, entry);
    return 'memory';
  }

  /**
   * Redis refused an invalidation (a READONLY replica): the entries are still there, so neither may a lookup trust
   * them nor may the cache stop using Redis for good. Their keys are tombstoned until they would have expired, and
   * the other instances are told to do the same.
   */
  async #refusedInvalidation(keys: readonly string[], tagKeys: readonly string[], names: readonly string[],
    nameKeys: readonly string[], error: unknown): Promise<number> {
    this.#noteRefusal(error);
    if (log.redis.enabled) log.redis('Redis refused an invalidation (%s); its keys are tombstoned here', describeError(error));
    const members = await this.#tombstone(keys, [...tagKeys, ...nameKeys]);
    await this.#publish([...keys, ...members], tagKeys, names, true);
    return keys.length + members.length;
  }

  /** Marks the writes under way that an invalidation (this instance's, or another's it was told of) has overtaken. */
  #overtakeWrites(keys: readonly string[], tagKeys: readonly string[], names: readonly string[]): void {
    for (const [key, write] of this.#inflight) {
      if (keys.includes(key) || write.tagKeys.some((t) => tagKeys.includes(t)) || (write.name !== undefined && names.includes(write.name))) {
        write.invalidated = true;
      }
    }
  }

  /** Tells the other instances; one that cannot be told in time has dropped its copies with its lease (NearCache). */
  async #publish(keys: readonly string[], tagKeys: readonly string[], names: readonly string[], refused: boolean): Promise<void> {
    const published = (this.#copies as MemoryCopies).publish(keys, tagKeys, names, refused);
    await withDeadline(published, this.#timeoutMs * 4, 'PUBLISH').catch(() => undefined);
  }

  /** Tombstones keys, and the members of tag sets (read: a replica answers reads), until their expiry in Redis. */
  async #tombstone(keys: readonly string[], setKeys: readonly string[]): Promise<string[]> {
    const redis = this.#redis as RedisStore;
    const copies = this.#copies as MemoryCopies;
    const now = this.#clock.now();
    this.#tombstonedAt = now;
    let members: Array<[string, number]> = [];
    try {
      members = await withDeadline(redis.setMembers(setKeys), Math.max(1000, this.#timeoutMs * 20), 'tag members');
      const ttls = await withDeadline(redis.ttls(keys), Math.max(1000, this.#timeoutMs * 20), 'PTTL');
      copies.tombstone(keys, (key) => now + (ttls.get(key) ?? 0));
    } catch (error) {
      if (log.redis.enabled) log.redis('could not read what to tombstone: %s', describeError(error));
    }
    const until = new Map(members);
    copies.tombstone([...until.keys()], (key) => until.get(key) ?? now);
    // A lookup answered while the tombstones were being read may have kept a copy of what they now hide.
    copies.forgotten([...keys, ...until.keys()]);
    return [...until.keys()];
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
    // A refused write left nothing to undo; and undoing it on a replica would be refused too, and open the circuit.
    const refused = await command.then(() => false, (error: unknown) => isRefusal(error));
    if (this.#inflight.get(key) === write) this.#inflight.delete(key);
    if (refused || !write.invalidated || !this.#redis) return;
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

  /** Removes from Redis: how many entries, and every key that was (or may have been) removed. */
  async #invalidateRedis(keys: readonly string[], tagKeys: readonly string[]): Promise<{ removed: number; keys: string[] }> {
    const redis = this.#redis as RedisStore;
    // Bounded even on a client without socket timeouts (one the user passed in): past it, the removal is queued.
    const [byKey, byTag] = await withDeadline(Promise.all([redis.delete(keys), redis.deleteTagged(tagKeys)]),
      Math.max(1000, this.#timeoutMs * 20), 'invalidate');
    return { removed: byKey + byTag.removed, keys: byTag.keys };
  }

  /** The half-open probe: Redis must answer, and queued invalidations must land, before traffic returns to it. */
  async #probe(): Promise<void> {
    const redis = this.#redis as RedisStore;
    await withDeadline(redis.ping(), Math.max(this.#timeoutMs * 4, 250), 'PING');
    if (this.pendingInvalidations === 0) return;
    const keys = [...this.#pending.keys];
    const tagKeys = [...this.#pending.tagKeys];
    try {
      await this.#invalidateRedis(keys, tagKeys);
    } catch (error) {
      // Back as a replica (a primary demoted while out of reach): it would refuse the queue until someone promotes
      // it, and the cache would wait on memory as long. Its reads work: tombstone the keys instead, as when it is up.
      if (!isRefusal(error)) throw error;
      await this.#refusedInvalidation(keys, tagKeys, [], [], error);
    }
    for (const key of keys) this.#pending.keys.delete(key);
    for (const tagKey of tagKeys) this.#pending.tagKeys.delete(tagKey);
    if (log.redis.enabled) log.redis('applied %d queued invalidations', keys.length + tagKeys.length);
  }
}
