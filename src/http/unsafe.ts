import type { ServerResponse } from 'node:http';
import type { Request } from 'express';
import type { CacheCore } from '../core.js';
import { describeError, log } from '../observe/debug.js';
import { canonicalText, requestHost } from './keys.js';

/** RFC 9110 §9.2.1: the methods that change nothing. Every other method is unsafe. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

const watched = new WeakSet<object>();

export function isUnsafe(method: string): boolean {
  return !SAFE_METHODS.has(method);
}

/**
 * RFC 9111 §4.4: a non-error response to an unsafe request invalidates the entries of its target URI, and of its
 * `Location` and `Content-Location` when they are on the same origin. Started as the response's headers go out (its
 * status and locations are known then); the response ends once the invalidation is applied (or queued, when Redis is
 * out: the store bounds that wait), so a client that reads its answer and asks again never gets the old entry.
 */
export function invalidateAfterUnsafe(core: CacheCore, req: Request, res: ServerResponse): void {
  if (watched.has(req)) return;
  watched.add(req);
  const originalWriteHead = res.writeHead;
  const originalEnd = res.end;
  let applied: Promise<unknown> | undefined;
  res.writeHead = function writeHead(this: ServerResponse, ...args: unknown[]) {
    const [status] = args as [number];
    if (applied === undefined && status < 400) applied = invalidate(core, req, this, status);
    return (originalWriteHead as (...a: unknown[]) => ServerResponse).apply(this, args);
  } as ServerResponse['writeHead'];
  res.end = function end(this: ServerResponse, ...args: unknown[]) {
    if (!this.headersSent && this.statusCode < 400 && applied === undefined) applied = invalidate(core, req, this, this.statusCode);
    if (!applied) return (originalEnd as (...a: unknown[]) => ServerResponse).apply(this, args);
    void applied.finally(() => (originalEnd as (...a: unknown[]) => ServerResponse).apply(this, args));
    return this;
  } as ServerResponse['end'];
}

function invalidate(core: CacheCore, req: Request, res: ServerResponse, status: number): Promise<unknown> {
  const protocol = req.protocol;
  const host = requestHost(req);
  const target = req.originalUrl || req.url;
  const texts = [canonicalText(protocol, host, target)];
  for (const name of ['location', 'content-location']) {
    const value = res.getHeader(name);
    if (typeof value === 'string') texts.push(sameOrigin(value, protocol, host, target));
  }
  const keys = [...new Set(texts.filter((text): text is string => text !== undefined))].map((text) => core.requestKeys.ofCanonical(text).key);
  if (log.middleware.enabled) log.middleware('%s answered %d: invalidating %d URL(s)', req.method, status, keys.length);
  core.fills.forgetReleased();
  return core.store.invalidate({ keys, tagKeys: [], names: [], nameKeys: [] }).catch((error: unknown) => {
    if (log.middleware.enabled) log.middleware('invalidation after %s failed: %s', req.method, describeError(error));
  });
}

/** The canonical text of a `Location`-style reference resolved against the request, when it is on the same origin. */
function sameOrigin(reference: string, protocol: string, host: string, target: string): string | undefined {
  let url: URL;
  let origin: URL;
  try {
    origin = new URL(`${protocol}://${host}${target}`);
    url = new URL(reference, origin);
  } catch {
    return undefined;
  }
  // Compared as URLs (host names lower-cased, default ports dropped); keyed by the host as requests send it.
  if (url.origin !== origin.origin) return undefined;
  return canonicalText(protocol, host, `${url.pathname}${url.search}`);
}
