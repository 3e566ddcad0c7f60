import { randomBytes } from 'node:crypto';
import { withDeadline } from '../stores/deadline.js';
import { describeError, log } from './debug.js';
import { COUNTER_FIELDS, addCounts, describeCounts, emptyCounts, type Counts, type NameStats, type Stats } from './stats.js';
import { Script } from '../stores/scripts.js';
import type { TieredStore } from '../stores/tiered-store.js';
import type { KeySpace } from '../http/keys.js';
import type { SharedStats } from './stats-report.js';

const HOUR_MS = 3_600_000;
/** Bound on reading or writing the shared figures: off the request path, but never unbounded. */
const SHARED_TIMEOUT_MS = 1000;

/**
 * Adds a batch to one hour's hash, at most once: the batch id is remembered next to the hash, so a flush whose
 * reply was lost can be sent again without counting twice. KEYS[1] hour hash, KEYS[2] batch marker (same slot, by
 * hash tag); ARGV: ttl ms, then field, increment pairs.
 */
const applyBatch = new Script(`
if not redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[1]) then return 0 end
for i = 2, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`, 2);

interface Batch {
  readonly id: string;
  readonly hour: number;
  readonly fields: readonly (string | number)[];
  readonly counts: ReadonlyMap<string, Counts>;
}

/**
 * All instances' counters, in Redis, per name, over a rolling window of hourly buckets (the seed's INCR + EXPIRE, in
 * batches). Requests only bump local counters; a timer flushes what accumulated every `flushIntervalMs`, one script
 * call per flush. A batch that fails stays queued, in order, and goes out when Redis answers again: nothing is lost
 * while the process lives, and nothing is counted twice.
 */
export class SharedCounters {
  readonly #store: TieredStore;
  readonly #stats: Stats;
  readonly #keys: KeySpace;
  readonly #windowMs: number;
  readonly #queue: Batch[] = [];
  readonly #timer: NodeJS.Timeout;
  readonly #instance = randomBytes(6).toString('base64url');
  #sequence = 0;
  #flushing: Promise<void> | undefined;

  constructor(store: TieredStore, stats: Stats, options: { keys: KeySpace; windowMs: number; flushIntervalMs: number }) {
    this.#store = store;
    this.#stats = stats;
    this.#keys = options.keys;
    this.#windowMs = options.windowMs;
    this.#timer = setInterval(() => {
      // While a flush is still out (Redis slow), ticks are skipped rather than queued behind it.
      if (!this.#flushing) void this.flush();
    }, options.flushIntervalMs);
    this.#timer.unref();
  }

  /** Batches waiting for Redis. */
  get queued(): number {
    return this.#queue.length;
  }

  /**
   * Sends everything counted up to this call. A flush already under way took its counts before the call, so it is
   * awaited and another one follows; flushes never overlap, so batches reach Redis in order.
   */
  async flush(): Promise<void> {
    while (this.#flushing) await this.#flushing;
    this.#flushing = this.#flush().finally(() => {
      this.#flushing = undefined;
    });
    return this.#flushing;
  }

  /** Flushes one last time (bounded) and stops the timer. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }

  /** All instances' figures over the window, or null when Redis cannot be read now. */
  async read(): Promise<SharedStats | null> {
    const redis = this.#store.redis;
    if (!redis || this.#store.state !== 'redis') return null;
    const hours = Math.ceil(this.#windowMs / HOUR_MS);
    const now = currentHour();
    try {
      const hashes = await withDeadline(
        Promise.all(Array.from({ length: hours }, (_, i) => redis.client.hgetall(this.#keys.counters(now - i)))),
        SHARED_TIMEOUT_MS, 'HGETALL');
      const byName = new Map<string, Counts>();
      for (const hash of hashes) {
        for (const [field, value] of Object.entries(hash)) {
          const split = field.lastIndexOf('\n');
          const name = field.slice(0, split);
          const counter = field.slice(split + 1) as keyof Counts;
          if (!COUNTER_FIELDS.includes(counter)) continue;
          let counts = byName.get(name);
          if (!counts) byName.set(name, (counts = emptyCounts()));
          counts[counter] += Number(value);
        }
      }
      const names: Record<string, NameStats> = {};
      const sum = emptyCounts();
      for (const [name, counts] of byName) {
        names[name] = describeCounts(name, counts);
        addCounts(sum, counts);
      }
      return { names, totals: describeCounts('*', sum), windowSeconds: Math.round(this.#windowMs / 1000) };
    } catch (error) {
      if (log.stats.enabled) log.stats('shared figures could not be read: %s', describeError(error));
      return null;
    }
  }

  async #flush(): Promise<void> {
    const taken = this.#stats.takeUnflushed();
    if (taken.size > 0) this.#queue.push(this.#batch(taken));
    this.#compactQueue();
    const redis = this.#store.redis;
    if (!redis) return;
    while (this.#queue.length > 0 && this.#store.state === 'redis') {
      const batch = this.#queue[0] as Batch;
      try {
        await withDeadline(
          applyBatch.run(redis.client, [this.#keys.counters(batch.hour), this.#keys.counterBatch(batch.hour, batch.id)],
            [this.#windowMs + HOUR_MS, ...batch.fields]),
          SHARED_TIMEOUT_MS, 'stats flush');
        this.#queue.shift();
      } catch (error) {
        if (log.stats.enabled) log.stats('flush failed, %d batches kept for later: %s', this.#queue.length, describeError(error));
        return;
      }
    }
  }

  /**
   * Only the head of the queue can have reached Redis (a flush stops at its first failure), so the batches behind it
   * are merged into one: a long outage keeps two batches, not one per flush interval.
   */
  #compactQueue(): void {
    if (this.#queue.length <= 2) return;
    const merged = new Map<string, Counts>();
    for (const batch of this.#queue.splice(1)) {
      for (const [name, counts] of batch.counts) {
        let into = merged.get(name);
        if (!into) merged.set(name, (into = emptyCounts()));
        addCounts(into, counts);
      }
    }
    this.#queue.push(this.#batch(merged));
  }

  #batch(counts: ReadonlyMap<string, Counts>): Batch {
    const fields: (string | number)[] = [];
    for (const [name, c] of counts) {
      for (const field of COUNTER_FIELDS) if (c[field] !== 0) fields.push(`${name}\n${field}`, c[field]);
    }
    return { id: `${this.#instance}.${this.#sequence++}`, hour: currentHour(), fields, counts };
  }
}

function currentHour(): number {
  return Math.floor(Date.now() / HOUR_MS);
}
