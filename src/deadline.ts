import { RedisTimeoutError } from './errors.js';

/**
 * Settles with `promise`, or rejects with `RedisTimeoutError` after `ms`. The underlying command is not cancelled
 * (Redis has no cancel); its late result is observed and dropped, so it never becomes an unhandled rejection.
 */
export function withDeadline<T>(promise: Promise<T>, ms: number, operation: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new RedisTimeoutError(operation, ms)), ms);
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
