import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock } from '../clock.js';
import type { Entry } from '../entry/entry.js';
import { log } from '../observe/debug.js';
import type { KeySpace } from '../stores/key-space.js';
import { RedisNotInUseError, type CommandOptions, type TieredStore } from '../stores/tiered-store.js';

const POLL_MS = 25;
/** Most finished locks remembered at once (see FinishedLocks): a bound on memory under a flood of misses. */
const MAX_FINISHED = 1000;

/** What a request learns from the cross-instance lock before filling an entry. */
export type LockResult =
  /** This instance fills; call `release` once the entry is stored (or the fill failed). */
  | { readonly kind: 'lead'; release(): void }
  /** Another instance filled it while we waited. */
  | { readonly kind: 'filled'; readonly entry: Entry }
  /** Redis is out, the wait ran out, or the holder gave up: fill it ourselves, unlocked. */
  | { readonly kind: 'alone' };

/**
 * Cross-instance request coalescing: `SET key token NX PX ttl` elects one filler across all instances; the others poll
 * the entry key until it appears, the lock goes, or their wait runs out. Released by compare-and-delete, so an
 * instance whose lock expired cannot release another's. Any Redis trouble means "fill alone": the lock may cost a
 * duplicate handler run, never a failed or hung request. Its commands go through the store's door, which counts a
 * failure and tells the breaker, as for a lookup.
 *
 * A release can fail to take effect: Redis was out when the fill ended, or a primary acknowledged it and died before
 * its replica saw it, and the failover carried the lock over to the new primary. Every instance would then wait out
 * the lock's ttl for a fill that is long over. So the locks this instance finished with are remembered until they
 * would expire by themselves, and released again when Redis is back and before a request waits on one of their keys.
 */
export class FillLock {
  readonly #store: TieredStore;
  readonly #keys: KeySpace;
  readonly #clock: Clock;
  readonly #ttlMs: number;
  readonly #waitMs: number;
  readonly #command: CommandOptions;
  /** Releases sent again when no request waits on them: their failure is nobody's error. */
  readonly #background: CommandOptions;
  readonly #finished: FinishedLocks;

  constructor(store: TieredStore, keys: KeySpace, clock: Clock, options: { ttlMs: number; waitMs: number; redisTimeoutMs: number }) {
    this.#store = store;
    this.#keys = keys;
    this.#clock = clock;
    this.#ttlMs = options.ttlMs;
    this.#waitMs = options.waitMs;
    this.#command = { timeoutMs: options.redisTimeoutMs, requestPath: true };
    this.#background = { timeoutMs: options.redisTimeoutMs * 4, requestPath: false };
    this.#finished = new FinishedLocks(clock, MAX_FINISHED);
    store.on('recovered', () => this.#releaseFinished());
  }

  async acquire(entryKey: string): Promise<LockResult> {
    const deadline = this.#clock.now() + this.#waitMs;
    const lockKey = this.#keys.lock(entryKey);
    const token = randomBytes(12).toString('base64url');
    try {
      while (true) {
        if (await this.#take(lockKey, token)) return await this.#lead(entryKey, lockKey, token);
        // The lock may be one of ours that Redis never saw released: release it and try again, rather than wait.
        if (await this.#releaseOwn(lockKey)) continue;
        // Someone else is filling: wait for their entry, or for the lock to go (they failed: try to take it).
        while (this.#clock.now() < deadline) {
          await sleep(POLL_MS);
          const { entry, failed } = await this.#store.lookup(entryKey);
          if (entry) return { kind: 'filled', entry };
          if (failed) return { kind: 'alone' };
          if (!(await this.#store.redisCommand('EXISTS', (redis) => redis.lockHeld(lockKey), this.#command))) break;
        }
        if (this.#clock.now() >= deadline) return { kind: 'alone' };
      }
    } catch {
      if (log.redis.enabled) log.redis('fill lock unavailable; filling alone');
      return { kind: 'alone' };
    }
  }

  /**
   * `SET NX`. One that fails may still have been applied, its reply lost (a timeout, a primary dying): the lock would
   * be ours, held for a fill that goes on alone, so it is let go of as a finished one.
   */
  async #take(lockKey: string, token: string): Promise<boolean> {
    try {
      return await this.#store.redisCommand('SET NX', (redis) => redis.takeLock(lockKey, token, this.#ttlMs), this.#command);
    } catch (error) {
      if (!(error instanceof RedisNotInUseError)) this.#finish(lockKey, token, this.#background);
      throw error;
    }
  }

  /**
   * The lock is ours, but our lookup may have missed just before another instance stored the entry and released it:
   * look once more before running the handler.
   */
  async #lead(entryKey: string, lockKey: string, token: string): Promise<LockResult> {
    const { entry } = await this.#store.lookup(entryKey);
    if (entry) {
      this.#finish(lockKey, token, this.#command);
      return { kind: 'filled', entry };
    }
    return { kind: 'lead', release: () => this.#finish(lockKey, token, this.#command) };
  }

  /**
   * Remembers the lock as finished and releases it. A release that fails costs no request anything (the door counted
   * the failure), nor does one a failover undoes: it is sent again when Redis is back, or when a request finds the
   * lock held. So the lock is remembered even once this release is acknowledged.
   */
  #finish(lockKey: string, token: string, options: CommandOptions): void {
    this.#finished.add(lockKey, token, this.#clock.now() + this.#ttlMs);
    this.#store.redisCommand('release lock', (redis) => redis.releaseLock(lockKey, token), options).catch(() => undefined);
  }

  /** True when `lockKey` may hold a lock this instance finished with, now released (compare-and-delete: only if so). */
  async #releaseOwn(lockKey: string): Promise<boolean> {
    const token = this.#finished.tokenOf(lockKey);
    if (token === undefined) return false;
    await this.#release(lockKey, token, this.#command);
    return true;
  }

  /**
   * Back from an outage, which may have been a failover: every lock this instance finished with that may still be in
   * Redis is released, so that no instance waits on one.
   */
  #releaseFinished(): void {
    const finished = this.#finished.live();
    if (finished.length > 0 && log.redis.enabled) log.redis('Redis is back: releasing %d finished fill locks again', finished.length);
    for (const [lockKey, token] of finished) this.#release(lockKey, token, this.#background).catch(() => undefined);
  }

  /** Releases a finished lock again, and forgets it once Redis has acknowledged that. */
  async #release(lockKey: string, token: string, options: CommandOptions): Promise<void> {
    await this.#store.redisCommand('release lock', (redis) => redis.releaseLock(lockKey, token), options);
    this.#finished.released(lockKey, token);
  }
}

/**
 * The locks this instance finished with, by lock key, each until it would have expired by itself, or until a release
 * sent again was acknowledged. Past `max`, the oldest go: they are the nearest to expiring.
 */
class FinishedLocks {
  readonly #byKey = new Map<string, { readonly token: string; readonly expiresAt: number }>();
  readonly #clock: Clock;
  readonly #max: number;

  constructor(clock: Clock, max: number) {
    this.#clock = clock;
    this.#max = max;
  }

  /** One lock per key at a time: a newer one of ours there means the older one was gone. */
  add(lockKey: string, token: string, expiresAt: number): void {
    this.#byKey.delete(lockKey);
    this.#byKey.set(lockKey, { token, expiresAt });
    this.#prune();
    for (const oldest of this.#byKey.keys()) {
      if (this.#byKey.size <= this.#max) break;
      this.#byKey.delete(oldest);
    }
  }

  /** Forgets `token`, unless a newer lock of ours on `lockKey` replaced it. */
  released(lockKey: string, token: string): void {
    if (this.#byKey.get(lockKey)?.token === token) this.#byKey.delete(lockKey);
  }

  tokenOf(lockKey: string): string | undefined {
    const finished = this.#byKey.get(lockKey);
    return finished && finished.expiresAt > this.#clock.now() ? finished.token : undefined;
  }

  /** The lock keys and tokens not yet expired. */
  live(): [string, string][] {
    this.#prune();
    return [...this.#byKey].map(([lockKey, { token }]) => [lockKey, token]);
  }

  /** Drops expired locks from the front: entries are in order of finishing, so nearly in order of expiry. */
  #prune(): void {
    const now = this.#clock.now();
    for (const [lockKey, { expiresAt }] of this.#byKey) {
      if (expiresAt > now) break;
      this.#byKey.delete(lockKey);
    }
  }
}
