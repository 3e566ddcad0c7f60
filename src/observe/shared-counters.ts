import { randomBytes } from 'node:crypto';
import type { Clock, Timer } from '../clock.js';
import type { KeySpace } from '../stores/key-space.js';
import type { CommandOptions, TieredStore } from '../stores/tiered-store.js';
import { describeError, log } from './debug.js';
import { COUNTER_FIELDS, nameRecord, addCounts, describeCounts, emptyCounts, type Counts, type NameStats, type Stats } from './stats.js';

const HOUR_MS = 3_600_000;
/** Reading or writing the shared figures is off the request path, but never unbounded; a failure is not Redis's fault. */
const SHARED_COMMAND: CommandOptions = { timeoutMs: 1000, requestPath: false };

/** All instances' figures, read from Redis. */
export interface SharedStats {
  readonly names: Record<string, NameStats>;
  readonly totals: NameStats;
  readonly windowSeconds: number;
}

interface Batch {
  readonly id: string;
  readonly hour: number;
  readonly fields: readonly (string | number)[];
  readonly counts: ReadonlyMap<string, Counts>;
}

/**
 * All instances' counters, in Redis, per name, over a rolling window of hourly buckets (INCR + EXPIRE, in batches).
 * Requests only bump local counters; a timer flushes what accumulated every `flushIntervalMs`, one script call per
 * flush. A batch that fails stays queued, in order, and goes out when Redis answers again: nothing is lost while the
 * process lives, and nothing is counted twice.
 */
export class SharedCounters {
  readonly #store: TieredStore;
  readonly #stats: Stats;
  readonly #keys: KeySpace;
  readonly #clock: Clock;
  readonly #windowMs: number;
  readonly #queue: Batch[] = [];
  readonly #timer: Timer;
  readonly #instance = randomBytes(6).toString('base64url');
  #sequence = 0;
  #flushing: Promise<void> | undefined;
  #lastRead: SharedStats | null = null;

  constructor(store: TieredStore, stats: Stats, options: { keys: KeySpace; clock: Clock; windowMs: number; flushIntervalMs: number }) {
    this.#store = store;
    this.#stats = stats;
    this.#keys = options.keys;
    this.#clock = options.clock;
    this.#windowMs = options.windowMs;
    this.#timer = options.clock.setInterval(() => {
      // While a flush is still out (Redis slow), ticks are skipped rather than queued behind it.
      if (!this.#flushing) void this.flush();
    }, options.flushIntervalMs);
  }

  /** The figures the last successful `read()` returned, or null before one. */
  get lastRead(): SharedStats | null {
    return this.#lastRead;
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
    this.#clock.clearTimer(this.#timer);
    await this.flush();
  }

  /** All instances' figures over the window, or null when Redis cannot be read now. */
  async read(): Promise<SharedStats | null> {
    const hours = Math.ceil(this.#windowMs / HOUR_MS);
    const now = this.#currentHour();
    const keys = Array.from({ length: hours }, (_, i) => this.#keys.counters(now - i));
    let hashes: Record<string, string>[];
    try {
      hashes = await this.#store.redisCommand('HGETALL', (redis) => redis.readHashes(keys), SHARED_COMMAND);
    } catch (error) {
      if (log.stats.enabled) log.stats('shared figures could not be read: %s', describeError(error));
      return null;
    }
    this.#lastRead = this.#sum(hashes);
    return this.#lastRead;
  }

  #sum(hashes: readonly Record<string, string>[]): SharedStats {
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
    const sum = emptyCounts();
    for (const counts of byName.values()) addCounts(sum, counts);
    const names = nameRecord([...byName].map(([name, counts]) => describeCounts(name, counts)));
    return { names, totals: describeCounts('*', sum), windowSeconds: Math.round(this.#windowMs / 1000) };
  }

  async #flush(): Promise<void> {
    const taken = this.#stats.takeUnflushed();
    if (taken.size > 0) this.#queue.push(this.#batch(taken));
    this.#compactQueue();
    while (this.#queue.length > 0 && this.#store.state === 'redis') {
      const batch = this.#queue[0] as Batch;
      const hashKey = this.#keys.counters(batch.hour);
      const markerKey = this.#keys.counterBatch(batch.hour, batch.id);
      try {
        await this.#store.redisCommand('stats flush',
          (redis) => redis.addCounterBatch(hashKey, markerKey, this.#windowMs + HOUR_MS, batch.fields), SHARED_COMMAND);
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
    return { id: `${this.#instance}.${this.#sequence++}`, hour: this.#currentHour(), fields, counts };
  }

  #currentHour(): number {
    return Math.floor(this.#clock.now() / HOUR_MS);
  }
}
