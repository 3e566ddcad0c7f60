/** A timer the clock set; only ever handed back to the same clock. */
export type Timer = { readonly __timer: unique symbol };

/**
 * Where the cache reads the time and sets its timers: entry freshness and ages, memory TTLs, the breaker's open
 * period, coalescing linger, refresh give-ups, latency windows and counter buckets. One object, so tests can run all of
 * that on a fake clock instead of sleeping. Redis deadlines are not on it: they bound real I/O, so they keep real time.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `callback` once after `ms`. The timer never keeps the process alive. */
  setTimeout(callback: () => void, ms: number): Timer;
  /** Calls `callback` every `ms`. The timer never keeps the process alive. */
  setInterval(callback: () => void, ms: number): Timer;
  /** Stops a timer from either of the above; `undefined` is ignored. */
  clearTimer(timer: Timer | undefined): void;
}

/** The real clock: `Date.now()` and Node's timers, unref'd. */
export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  setTimeout: (callback: () => void, ms: number) => setTimeout(callback, ms).unref() as unknown as Timer,
  setInterval: (callback: () => void, ms: number) => setInterval(callback, ms).unref() as unknown as Timer,
  clearTimer: (timer: Timer | undefined) => clearTimeout(timer as unknown as NodeJS.Timeout | undefined),
});
