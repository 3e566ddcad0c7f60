import { RedisTimeoutError } from '../config/errors.js';

/**
 * Settles with `promise`, or rejects with `RedisTimeoutError` after `ms`. The underlying command is not cancelled
 * (Redis has no cancel); its late result is observed and dropped, so it never becomes an unhandled rejection.
 *
 * Timers run before sockets are read in each turn of the event loop, so after the process was busy (a burst of
 * requests, a long synchronous task) the timer fires while Redis's reply sits unread in the socket. The rejection
 * therefore waits one `setImmediate`, after that turn's reads: a reply that has arrived wins, and costs nothing.
 */
export function withDeadline<T>(promise: Promise<T>, ms: number, operation: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => setImmediate(() => reject(new RedisTimeoutError(operation, ms))), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
