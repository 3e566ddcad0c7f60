/**
 * Thrown by `resilientCache()` when an option is wrong. The message names the option and says how to fix it;
 * `option` carries the option's path (e.g. `memory.maxBytes`) for programs that want to react to it.
 */
export class CacheConfigError extends TypeError {
  override readonly name = 'CacheConfigError';
  readonly code = 'ERR_CACHE_CONFIG';
  readonly option: string;

  constructor(option: string, problem: string) {
    super(`express-resilient-cache: option \`${option}\` ${problem}`);
    this.option = option;
  }
}

/** A Redis call on the request path that did not answer within `redisTimeout`. Never reaches a response. */
export class RedisTimeoutError extends Error {
  override readonly name = 'RedisTimeoutError';
  readonly code = 'ERR_CACHE_REDIS_TIMEOUT';

  constructor(operation: string, timeoutMs: number) {
    super(`Redis ${operation} did not answer within ${timeoutMs} ms`);
  }
}
