import type { Clock, Timer } from '../../src/clock.js';

interface Scheduled {
  readonly id: number;
  at: number;
  readonly every: number | undefined;
  readonly callback: () => void;
}

/**
 * A clock that moves only when a test says so: `advance(ms)` runs every timer that falls due, in order, with `now()`
 * set to each timer's moment. TTLs, the breaker's open period and latency windows then take no real time to test.
 */
export class FakeClock implements Clock {
  #now: number;
  #nextId = 1;
  readonly #timers = new Map<number, Scheduled>();

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): Timer {
    return this.#schedule(callback, ms, undefined);
  }

  setInterval(callback: () => void, ms: number): Timer {
    return this.#schedule(callback, ms, Math.max(1, ms));
  }

  clearTimer(timer: Timer | undefined): void {
    if (timer !== undefined) this.#timers.delete(timer as unknown as number);
  }

  /** Timers waiting to run. */
  get pendingTimers(): number {
    return this.#timers.size;
  }

  /**
   * Moves time forward by `ms`, running due timers in order; between timers it lets promises settle, so work a timer
   * starts (a probe, say) gets to run before the next one fires.
   */
  async advance(ms: number): Promise<void> {
    const until = this.#now + ms;
    for (;;) {
      const due = this.#nextDue(until);
      if (!due) break;
      this.#now = due.at;
      if (due.every === undefined) this.#timers.delete(due.id);
      else due.at += due.every;
      due.callback();
      await settle();
    }
    this.#now = until;
    await settle();
  }

  #schedule(callback: () => void, ms: number, every: number | undefined): Timer {
    const id = this.#nextId++;
    this.#timers.set(id, { id, at: this.#now + Math.max(0, ms), every, callback });
    return id as unknown as Timer;
  }

  #nextDue(until: number): Scheduled | undefined {
    let next: Scheduled | undefined;
    for (const timer of this.#timers.values()) {
      if (timer.at <= until && (!next || timer.at < next.at)) next = timer;
    }
    return next;
  }
}

/** Lets queued promise callbacks (and what they queue in turn) run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
