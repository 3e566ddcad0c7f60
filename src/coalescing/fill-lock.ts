import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock } from '../clock.js';
import type { Entry } from '../entry/entry.js';
import { log } from '../observe/debug.js';
import type { KeySpace } from '../stores/key-space.js';
import type { CommandOptions, TieredStore } from '../stores/tiered-store.js';

const POLL_MS = 25;

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
 */
export class FillLock {
  readonly #store: TieredStore;
  readonly #keys: KeySpace;
  readonly #clock: Clock;
  readonly #ttlMs: number;
  readonly #waitMs: number;
  readonly #command: CommandOptions;

  constructor(store: TieredStore, keys: KeySpace, clock: Clock, options: { ttlMs: number; waitMs: number; redisTimeoutMs: number }) {
    this.#store = store;
    this.#keys = keys;
    this.#clock = clock;
    this.#ttlMs = options.ttlMs;
    this.#waitMs = options.waitMs;
    this.#command = { timeoutMs: options.redisTimeoutMs, requestPath: true };
  }

  async acquire(entryKey: string): Promise<LockResult> {
    const deadline = this.#clock.now() + this.#waitMs;
    const lockKey = this.#keys.lock(entryKey);
    const token = randomBytes(12).toString('base64url');
    try {
      while (true) {
        if (await this.#store.redisCommand('SET NX', (redis) => redis.takeLock(lockKey, token, this.#ttlMs), this.#command)) {
          return await this.#lead(entryKey, lockKey, token);
        }
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
   * The lock is ours, but our lookup may have missed just before another instance stored the entry and released it:
   * look once more before running the handler.
   */
  async #lead(entryKey: string, lockKey: string, token: string): Promise<LockResult> {
    const { entry } = await this.#store.lookup(entryKey);
    if (entry) {
      this.#release(lockKey, token);
      return { kind: 'filled', entry };
    }
    return { kind: 'lead', release: () => this.#release(lockKey, token) };
  }

  /** A release that fails costs nothing: the lock expires by itself after its ttl (the door counted the failure). */
  #release(lockKey: string, token: string): void {
    this.#store.redisCommand('release lock', (redis) => redis.releaseLock(lockKey, token), this.#command).catch(() => undefined);
  }
}
