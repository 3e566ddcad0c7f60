import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { withDeadline } from '../stores/deadline.js';
import { log } from '../observe/debug.js';
import type { Entry } from '../entry/entry.js';
import type { KeySpace } from '../http/keys.js';
import { releaseLock } from '../stores/scripts.js';
import type { TieredStore } from '../stores/tiered-store.js';

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
 * duplicate handler run, never a failed or hung request.
 */
export class FillLock {
  readonly #store: TieredStore;
  readonly #keys: KeySpace;
  readonly #ttlMs: number;
  readonly #waitMs: number;
  readonly #timeoutMs: number;

  constructor(store: TieredStore, keys: KeySpace, options: { ttlMs: number; waitMs: number; redisTimeoutMs: number }) {
    this.#store = store;
    this.#keys = keys;
    this.#ttlMs = options.ttlMs;
    this.#waitMs = options.waitMs;
    this.#timeoutMs = options.redisTimeoutMs;
  }

  async acquire(entryKey: string): Promise<LockResult> {
    const deadline = Date.now() + this.#waitMs;
    const lockKey = this.#keys.lock(entryKey);
    const token = randomBytes(12).toString('base64url');
    while (true) {
      const redis = this.#store.redis;
      if (!redis || this.#store.state !== 'redis') return { kind: 'alone' };
      const started = performance.now();
      try {
        const won = await withDeadline(redis.client.set(lockKey, token, 'PX', this.#ttlMs, 'NX'), this.#timeoutMs, 'SET NX');
        if (won === 'OK') return await this.#lead(entryKey, lockKey, token);
      } catch (error) {
        if (log.redis.enabled) log.redis('fill lock unavailable; filling alone');
        this.#store.redisFailed(error, started);
        return { kind: 'alone' };
      }
      // Someone else is filling: wait for their entry, or for the lock to go (they failed: try to take it).
      while (Date.now() < deadline) {
        await sleep(POLL_MS);
        const { entry, failed } = await this.#store.get(entryKey);
        if (entry) return { kind: 'filled', entry };
        if (failed) return { kind: 'alone' };
        const asked = performance.now();
        const holder = await withDeadline(redis.client.exists(lockKey), this.#timeoutMs, 'EXISTS').catch((error: unknown) => {
          this.#store.redisFailed(error, asked);
          return -1;
        });
        if (holder === -1) return { kind: 'alone' };
        if (holder === 0) break;
      }
      if (Date.now() >= deadline) return { kind: 'alone' };
    }
  }

  /**
   * The lock is ours, but our lookup may have missed just before another instance stored the entry and released it:
   * look once more before running the handler.
   */
  async #lead(entryKey: string, lockKey: string, token: string): Promise<LockResult> {
    const { entry } = await this.#store.get(entryKey);
    if (entry) {
      void this.#release(lockKey, token);
      return { kind: 'filled', entry };
    }
    return { kind: 'lead', release: () => void this.#release(lockKey, token) };
  }

  async #release(lockKey: string, token: string): Promise<void> {
    const redis = this.#store.redis;
    if (!redis) return;
    try {
      await releaseLock.run(redis.client, [lockKey], [token]);
    } catch (error) {
      // It expires by itself after its ttl; nothing else to do but count the failure.
      this.#store.redisFailed(error);
    }
  }
}
