import type { Clock, Timer } from '../clock.js';
import { Latency, RECENT_SLOT_MS, type LatencySummary } from './histogram.js';

/** The tiers whose lookups are timed: memory (copies and the fallback alike) and Redis. */
type TimedTier = 'memory' | 'redis';

/** Where counts go for names past `maxNames`. */
export const OTHER_NAMES = '(other)';

/** What happened to requests and `getOrSet` calls (hits … bypasses), and what else is counted per name. */
export const COUNTER_FIELDS = ['hits', 'misses', 'stale', 'bypasses', 'errors', 'stores'] as const;
export type CounterField = (typeof COUNTER_FIELDS)[number];
export type Counts = Record<CounterField, number>;

/** One name's figures as the stats report them. */
export interface NameStats extends Counts {
  readonly name: string;
  /** hits + misses + stale: requests the cache answered for or filled (bypasses are not cache traffic). */
  readonly total: number;
  /** (hits + stale) / total, 0 when there is no traffic. */
  readonly hitRate: number;
}

export function emptyCounts(): Counts {
  return { hits: 0, misses: 0, stale: 0, bypasses: 0, errors: 0, stores: 0 };
}

export function describeCounts(name: string, counts: Counts): NameStats {
  const total = counts.hits + counts.misses + counts.stale;
  return { name, ...counts, total, hitRate: total === 0 ? 0 : Math.round(((counts.hits + counts.stale) / total) * 10000) / 10000 };
}

/**
 * Figures by name, in an object with no prototype: a name is request-independent text, but one such as `__proto__`
 * or `constructor` must be a name like any other, never reach Object.prototype.
 */
export function nameRecord(list: Iterable<NameStats>): Record<string, NameStats> {
  const record = Object.create(null) as Record<string, NameStats>;
  for (const figures of list) record[figures.name] = figures;
  return record;
}

export function addCounts(into: Counts, from: Readonly<Counts>): Counts {
  for (const field of COUNTER_FIELDS) into[field] += from[field];
  return into;
}

/**
 * This instance's counters per name and its latency histograms. Counting is a map lookup and an increment; nothing
 * here touches Redis (the shared figures are flushed in batches by `SharedCounters`).
 */
export class Stats {
  readonly #names = new Map<string, Counts>();
  /** Counts not yet flushed to the shared figures; swapped out whole by `takeUnflushed`. */
  #unflushed = new Map<string, Counts>();
  readonly latency: Readonly<Record<TimedTier | 'handler', Latency>> = {
    memory: new Latency(),
    redis: new Latency(),
    handler: new Latency(),
  };
  readonly #clock: Clock;
  readonly #rotation: Timer;
  readonly #maxNames: number;
  readonly #servedFrom = { near: 0, redis: 0, memory: 0 };

  constructor(clock: Clock, maxNames: number) {
    this.#clock = clock;
    this.#maxNames = maxNames;
    this.#rotation = clock.setInterval(() => {
      for (const latency of Object.values(this.latency)) latency.rotate();
    }, RECENT_SLOT_MS);
  }

  /** Stops the timer that turns the recent latency window. */
  close(): void {
    this.#clock.clearTimer(this.#rotation);
  }

  /** A lookup answered from a near-cache copy, from Redis, or from the memory tier alone (the fallback). */
  servedFrom(tier: 'near' | 'redis' | 'memory'): void {
    this.#servedFrom[tier]++;
  }

  /** Hits and stale hits by where their entry came from, since the start. */
  get servedFromCounts(): Readonly<Record<'near' | 'redis' | 'memory', number>> {
    return this.#servedFrom;
  }

  /** Counts under `name`; once `maxNames` names are known, a new name's counts go to `(other)`. */
  count(name: string, field: CounterField, by = 1): void {
    if (this.#names.size >= this.#maxNames && !this.#names.has(name)) name = OTHER_NAMES;
    bump(this.#names, name, field, by);
    bump(this.#unflushed, name, field, by);
  }

  /** Hands the counts gathered since the last call to the flusher, and starts a new batch. */
  takeUnflushed(): Map<string, Counts> {
    const batch = this.#unflushed;
    this.#unflushed = new Map();
    return batch;
  }

  names(): NameStats[] {
    return [...this.#names].map(([name, counts]) => describeCounts(name, counts));
  }

  name(name: string): NameStats | undefined {
    const counts = this.#names.get(name);
    return counts ? describeCounts(name, counts) : undefined;
  }

  totals(): NameStats {
    const sum = emptyCounts();
    for (const counts of this.#names.values()) addCounts(sum, counts);
    return describeCounts('*', sum);
  }

  /** Latency over the last minute (the lifetime histograms are for Prometheus). */
  latencySummary(): Record<TimedTier | 'handler', LatencySummary> {
    return {
      memory: this.latency.memory.recent(),
      redis: this.latency.redis.recent(),
      handler: this.latency.handler.recent(),
    };
  }
}

function bump(map: Map<string, Counts>, name: string, field: CounterField, by: number): void {
  let counts = map.get(name);
  if (!counts) map.set(name, (counts = emptyCounts()));
  counts[field] += by;
}
