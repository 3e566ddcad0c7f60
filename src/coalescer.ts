/** The first caller's handle on work for a key: settles it for every waiter (see `Coalescer.lead`). */
export interface Leader<T> {
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
  hold: (value: T) => void;
  release: () => void;
  promise: Promise<T>;
}

/**
 * In-process request coalescing: the first caller for a key runs the work, concurrent callers for the same key
 * await its result. Errors reach the waiters too; nothing here stores anything.
 */
export class Coalescer<T> {
  readonly #inflight = new Map<string, Promise<T>>();

  /** The promise of work already running for `key`, if any. */
  pending(key: string): Promise<T> | undefined {
    return this.#inflight.get(key);
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
      hold: (value) => resolve(value),
      release: done,
    };
  }

  /** Runs `work` once per key among concurrent callers. */
  run(key: string, work: () => Promise<T>): Promise<T> {
    const existing = this.#inflight.get(key);
    if (existing) return existing;
    const leader = this.lead(key);
    // Through a promise, so work that throws synchronously still reaches the waiters and frees the key.
    Promise.resolve().then(work).then(leader.resolve, leader.reject);
    return leader.promise;
  }

  get size(): number {
    return this.#inflight.size;
  }
}
