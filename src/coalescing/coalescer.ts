import { systemClock, type Clock, type Timer } from '../clock.js';

/** The first caller's handle on work for a key: settles it for every waiter (see `Coalescer.lead`). */
export interface Leader<T> {
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
  hold: (value: T) => void;
  release: () => void;
  promise: Promise<T>;
}

/** How long, and for how many keys, a released result still answers callers whose lookup began before the release. */
export interface LingerOptions {
  readonly ms: number;
  readonly maxKeys: number;
}

const NO_LINGER: LingerOptions = { ms: 0, maxKeys: 0 };

interface Released<T> {
  readonly promise: Promise<T>;
  /** `mark()` right after this release: callers whose mark is below it looked up before the release. */
  readonly seq: number;
  readonly at: number;
}

/**
 * In-process request coalescing: the first caller for a key runs the work, concurrent callers for the same key
 * await its result. Errors reach the waiters too; nothing here stores anything.
 *
 * A caller that looked up before a held result was released is concurrent with that work even when its lookup ends
 * after the release (a Redis call that ran into its deadline under load, say): with `linger`, such a caller is
 * still handed the result rather than running the work again. Callers that look up after the release never are.
 */
export class Coalescer<T> {
  readonly #inflight = new Map<string, Promise<T>>();
  /** Held results released in the last `linger.ms`, oldest first. */
  readonly #released = new Map<string, Released<T>>();
  readonly #linger: LingerOptions;
  #releases = 0;
  #pruneTimer: Timer | undefined;
  readonly #clock: Clock;

  constructor(linger: LingerOptions = NO_LINGER, clock: Clock = systemClock) {
    this.#linger = linger;
    this.#clock = clock;
  }

  /** Take this before looking up, and pass it to `pending()` after a miss. */
  mark(): number {
    return this.#releases;
  }

  /**
   * The promise of work already running for `key`, if any; with `since` (a `mark()` taken before the caller looked
   * up), also of held work released after that.
   */
  pending(key: string, since?: number): Promise<T> | undefined {
    const inflight = this.#inflight.get(key);
    if (inflight || since === undefined) return inflight;
    const released = this.#released.get(key);
    if (!released || released.seq <= since) return undefined;
    return this.#clock.now() - released.at <= this.#linger.ms ? released.promise : undefined;
  }

  /** Drops every lingering result (after an invalidation: a caller waiting on one must look it up again). */
  forgetReleased(): void {
    this.#released.clear();
  }

  /**
   * Registers work for `key`; returns functions that settle it for every waiter. `hold(value)` settles it but keeps
   * handing `value` to newcomers until `release()`: for the moment between a result and its store landing, when a
   * new lookup would still miss and start the work again.
   */
  lead(key: string): Leader<T> {
    let resolve!: (value: T) => void;
    let reject!: (error: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // Waiters attach their own handlers; this one stops an unawaited rejection from crashing the process.
    promise.catch(() => undefined);
    this.#inflight.set(key, promise);
    const done = () => {
      if (this.#inflight.get(key) === promise) this.#inflight.delete(key);
    };
    let held = false;
    return {
      promise,
      resolve: (value) => {
        done();
        resolve(value);
      },
      reject: (error) => {
        done();
        reject(error);
      },
      hold: (value) => {
        held = true;
        resolve(value);
      },
      release: () => {
        if (held && this.#inflight.get(key) === promise) this.#keepReleased(key, promise);
        done();
      },
    };
  }

  #keepReleased(key: string, promise: Promise<T>): void {
    const { ms, maxKeys } = this.#linger;
    if (ms <= 0 || maxKeys <= 0) return;
    this.#released.delete(key);
    this.#released.set(key, { promise, seq: ++this.#releases, at: this.#clock.now() });
    this.#prune();
  }

  /** Drops results past their linger (oldest first) and beyond `maxKeys`; a timer finishes the job once idle. */
  #prune(): void {
    const { ms, maxKeys } = this.#linger;
    const now = this.#clock.now();
    for (const [key, released] of this.#released) {
      if (this.#released.size <= maxKeys && now - released.at <= ms) break;
      this.#released.delete(key);
    }
    if (this.#released.size > 0 && this.#pruneTimer === undefined) {
      this.#pruneTimer = this.#clock.setTimeout(() => {
        this.#pruneTimer = undefined;
        this.#prune();
      }, ms);
    }
  }

  /**
   * Runs `work` once per key among concurrent callers, and hands its result to all of them; with `since` (a `mark()`
   * taken before the caller looked up), also to callers whose lookup overlapped a held result. `work` may call
   * `hold(value)` to hand the value out at once while keeping the key until `work` returns (its store landing, say).
   */
  run(key: string, work: (hold: (value: T) => void) => Promise<T>, since?: number): Promise<T> {
    const existing = this.pending(key, since);
    if (existing) return existing;
    const leader = this.lead(key);
    let held = false;
    const hold = (value: T) => {
      held = true;
      leader.hold(value);
    };
    // Through a promise, so work that throws synchronously still reaches the waiters and frees the key.
    Promise.resolve().then(() => work(hold)).then(
      (value) => (held ? leader.release() : leader.resolve(value)),
      (error: unknown) => (held ? leader.release() : leader.reject(error)),
    );
    return leader.promise;
  }

  get size(): number {
    return this.#inflight.size;
  }
}
