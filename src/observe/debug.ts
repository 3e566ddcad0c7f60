import createDebug from 'debug';

/**
 * One `debug` namespace per part, so `DEBUG=express-resilient-cache:redis` shows only Redis trouble.
 * Callers check `.enabled` before building messages on the request path, so a disabled namespace costs a property read.
 */
export const log = Object.freeze({
  middleware: createDebug('express-resilient-cache:middleware'),
  redis: createDebug('express-resilient-cache:redis'),
  breaker: createDebug('express-resilient-cache:breaker'),
  stats: createDebug('express-resilient-cache:stats'),
});

/** Error messages can carry hostnames and, from some drivers, URLs with credentials: keep them short and scrubbed. */
export function describeError(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return redactSecrets(text).slice(0, 200);
}

/** Removes the password part of any `scheme://user:pass@host` in a text. */
export function redactSecrets(text: string): string {
  return text.replace(/(\w+:\/\/)([^:@/\s]*):([^@/\s]*)@/g, '$1$2:***@');
}
