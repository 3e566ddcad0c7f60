import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Clock, Timer } from '../clock.js';
import { describeError, log } from '../observe/debug.js';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  /** Consecutive failures that open the circuit. */
  failureThreshold: number;
  /** How long the circuit stays open before a probe. */
  openForMs: number;
  /** Checks Redis; resolves when it answers. Run alone: never two at a time. */
  probe: () => Promise<void>;
  /** Times the open period and stamps state changes. */
  clock: Clock;
}

/**
 * Keeps request-path traffic off a Redis that is failing. Closed: calls go through and consecutive failures are
 * counted. Open: `allows()` is false, so requests pay nothing for a dead Redis. After `openForMs` a single background
 * probe runs (half-open); success closes the circuit, failure opens it again. Probing from a timer rather than from a
 * request means no user request is ever the one that waits on a Redis that may still be gone, and recovery happens
 * even without traffic.
 *
 * Emits `open` (with the last error) and `close`.
 */
export class CircuitBreaker extends EventEmitter {
  #state: BreakerState = 'closed';
  #failures = 0;
  /** When the last counted failure was recorded (performance.now()). */
  #lastFailureAt = -Infinity;
  #since: number;
  #timer: Timer | undefined;
  #probing = false;
  /** Bumped by every opening, so a probe can tell that its answer is out of date. */
  #generation = 0;
  #closed = false;
  /** False until `open` has been emitted for the current outage (see `startOpen`). */
  #announced = true;
  readonly #options: BreakerOptions;

  constructor(options: BreakerOptions) {
    super();
    this.#options = options;
    this.#since = options.clock.now();
  }

  /**
   * Starts open, for a client that is still connecting: nothing is sent until a probe has seen Redis answer.
   * Unlike `open()` it emits nothing, since not having connected yet is not an outage; a failed first probe is.
   */
  startOpen(): void {
    this.#transition('open');
    this.#announced = false;
    // The client's 'ready' calls probeSoon(); this timer covers a Redis that never comes.
    this.#scheduleProbe(this.#options.openForMs);
  }

  get state(): BreakerState {
    return this.#state;
  }

  /** When the state last changed (epoch ms). */
  get since(): number {
    return this.#since;
  }

  allows(): boolean {
    return this.#state === 'closed';
  }

  success(): void {
    this.#failures = 0;
  }

  /**
   * Counts a failed call. A call that was already in flight when the last failure was counted (`startedAt` earlier)
   * saw the same slow moment, not a new one: under concurrency, counting each of them would let one 60 ms hiccup
   * (a GC pause, a busy event loop) open the circuit, so `failureThreshold` counts failures one after another.
   */
  failure(error: unknown, startedAt?: number): void {
    if (this.#state !== 'closed') return;
    if (startedAt !== undefined && startedAt < this.#lastFailureAt) return;
    this.#lastFailureAt = performance.now();
    this.#failures++;
    if (this.#failures >= this.#options.failureThreshold) this.open(error);
  }

  /** Opens at once, e.g. when the connection is known to be gone. */
  open(error?: unknown): void {
    if (this.#closed || this.#state === 'open') return;
    const wasClosed = this.#state === 'closed';
    // A probe in flight (half-open) saw a Redis that has failed again since: its answer no longer counts.
    this.#generation++;
    this.#transition('open');
    if (wasClosed) {
      if (log.breaker.enabled) log.breaker('circuit open after %d failures: %s', this.#failures, describeError(error));
      this.#announced = true;
      this.emit('open', error);
    }
    this.#scheduleProbe(this.#options.openForMs);
  }

  /** Probes now instead of waiting out the open period (the client just reconnected, say). */
  probeSoon(): void {
    if (this.#state === 'open') this.#scheduleProbe(0);
  }

  /** Stops timers; the breaker is unusable afterwards. */
  stop(): void {
    this.#closed = true;
    this.#options.clock.clearTimer(this.#timer);
  }

  #scheduleProbe(delay: number): void {
    this.#options.clock.clearTimer(this.#timer);
    this.#timer = this.#options.clock.setTimeout(() => void this.#probe(), delay);
  }

  async #probe(): Promise<void> {
    if (this.#closed || this.#state !== 'open') return;
    if (this.#probing) {
      // The previous probe's answer was overtaken by a new failure; try again once the open period is over.
      this.#scheduleProbe(this.#options.openForMs);
      return;
    }
    this.#probing = true;
    const generation = this.#generation;
    this.#transition('half-open');
    try {
      await this.#options.probe();
      if (this.#closed || generation !== this.#generation) return;
      this.#failures = 0;
      this.#transition('closed');
      if (log.breaker.enabled) log.breaker('probe answered; circuit closed');
      if (this.#announced) this.emit('close');
      this.#announced = true;
    } catch (error) {
      if (this.#closed || generation !== this.#generation) return;
      if (log.breaker.enabled) log.breaker('probe failed: %s', describeError(error));
      this.#transition('open');
      if (!this.#announced) {
        this.#announced = true;
        this.emit('open', error);
      }
      this.#scheduleProbe(this.#options.openForMs);
    } finally {
      this.#probing = false;
    }
  }

  #transition(state: BreakerState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#since = this.#options.clock.now();
  }
}
