/** Upper bounds of the latency buckets, in milliseconds: fine below a millisecond, where cache hits live. */
export const LATENCY_BUCKETS_MS = Object.freeze([
  0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000,
]);

export interface LatencySummary {
  readonly count: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

/**
 * A fixed-bucket latency histogram: recording is one comparison loop and two additions, with no allocation, so it
 * can sit on the hit path. Percentiles are bucket upper bounds (capped by the largest value seen).
 */
export class Histogram {
  readonly counts = new Float64Array(LATENCY_BUCKETS_MS.length + 1);
  count = 0;
  sum = 0;
  max = 0;

  record(ms: number): void {
    let i = 0;
    while (i < LATENCY_BUCKETS_MS.length && ms > (LATENCY_BUCKETS_MS[i] as number)) i++;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.count++;
    this.sum += ms;
    if (ms > this.max) this.max = ms;
  }

  percentile(q: number): number {
    if (this.count === 0) return 0;
    const rank = q * this.count;
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i] as number;
      if (seen >= rank) return Math.min(LATENCY_BUCKETS_MS[i] ?? this.max, this.max);
    }
    return this.max;
  }

  summary(): LatencySummary {
    return {
      count: this.count,
      mean: this.count === 0 ? 0 : round(this.sum / this.count),
      p50: round(this.percentile(0.5)),
      p90: round(this.percentile(0.9)),
      p99: round(this.percentile(0.99)),
      max: round(this.max),
    };
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** How many slots the recent window keeps, and how long each covers: together, the last minute. */
const RECENT_SLOTS = 6;
export const RECENT_SLOT_MS = 10_000;

/**
 * A latency histogram for the process's lifetime (what Prometheus wants: cumulative buckets) and one for the last
 * minute (what a person looking at the stats wants: how fast it is now). The recent one is a ring of 10-second slots
 * turned by `rotate()`, so recording stays a couple of additions with no clock read.
 */
export class Latency {
  readonly lifetime = new Histogram();
  readonly #slots: Histogram[] = Array.from({ length: RECENT_SLOTS }, () => new Histogram());
  #current = 0;

  record(ms: number): void {
    this.lifetime.record(ms);
    (this.#slots[this.#current] as Histogram).record(ms);
  }

  /** Starts a new slot, dropping the oldest. */
  rotate(): void {
    this.#current = (this.#current + 1) % RECENT_SLOTS;
    this.#slots[this.#current] = new Histogram();
  }

  /** The last minute (up to one slot more, since the current slot is partly filled). */
  recent(): LatencySummary {
    const merged = new Histogram();
    for (const slot of this.#slots) {
      for (let i = 0; i < slot.counts.length; i++) merged.counts[i] = (merged.counts[i] as number) + (slot.counts[i] as number);
      merged.count += slot.count;
      merged.sum += slot.sum;
      merged.max = Math.max(merged.max, slot.max);
    }
    return merged.summary();
  }
}
