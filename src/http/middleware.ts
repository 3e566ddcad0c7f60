import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { CacheCore } from '../core.js';
import { describeError, log } from '../observe/debug.js';
import type { ResponseEntry } from '../entry/entry.js';
import { fill } from './fill.js';
import { canonicalUrl, variantDigest, type RequestKey } from './keys.js';
import type { ResolvedRoute } from '../config/options.js';
import type { Lookup } from '../stores/tiered-store.js';
import { hit } from './hit.js';
import { contextOf } from './request-context.js';
import { bypass } from './bypass.js';
import { isRefresh, revalidate } from './refresh.js';

/** `app.use(cache)`: looks up every GET/HEAD reaching it with the app-wide options. */
export function createMiddleware(core: CacheCore): RequestHandler {
  return function resilientCacheMiddleware(req: Request, res: Response, next: NextFunction): void {
    if (contextOf(core, req)) return next();
    run(core, req, res, next, undefined);
  };
}

/** `cache.route(options)`: caches one route, alone or under `app.use(cache)` (its options win). */
export function createRouteMiddleware(core: CacheCore, route: ResolvedRoute | false): RequestHandler {
  return function resilientCacheRoute(req: Request, res: Response, next: NextFunction): void {
    const context = contextOf(core, req);
    if (route === false) {
      if (context) {
        // The app-wide lookup missed; stop filling so this response is neither stored nor shared.
        if (context.phase === 'filling') context.phase = 'bypass';
        context.release();
        return next();
      }
      return bypass(core, req, res, next, undefined);
    }
    if (context) {
      if (route.key === undefined || context.phase === 'handed-over') {
        context.route = route;
        return next();
      }
      // A key of its own: the app-wide lookup used another key, so this route looks up again under its own.
      context.phase = 'handed-over';
      context.release();
    }
    run(core, req, res, next, route);
  };
}

/**
 * Looks up and answers, or hands the request on to be filled. Synchronous up to the lookup: a memory hit is served
 * in the calling tick and returns nothing; otherwise it returns the promise of the rest.
 */
function serve(core: CacheCore, req: Request, res: Response, next: NextFunction, route: ResolvedRoute | undefined): void | Promise<void> {
  if (core.closed || (req.method !== 'GET' && req.method !== 'HEAD')) return next();
  // A shared cache must not answer one user with another's response: only a route with its own key opts in.
  if (req.headers.authorization !== undefined && route?.key === undefined) return bypass(core, req, res, next, route);
  let requestKey: RequestKey;
  try {
    requestKey = core.requestKeys.of(route?.key ? `key\n${route.key(req)}` : canonicalUrl(req));
  } catch (error) {
    if (log.middleware.enabled) log.middleware('cache key could not be computed (%s); not caching', describeError(error));
    return bypass(core, req, res, next, route);
  }
  const { digest: base, key: baseKey } = requestKey;
  if (isRefresh(req)) return fill(core, req, res, next, { route, base, key: baseKey, since: undefined, stale: undefined, failed: false, detached: true });
  const found = lookup(core, req, base, baseKey);
  if (found instanceof Promise) {
    // Taken in the tick the lookup began (no fill is released within a tick): see `FillPlan.since`.
    const since = core.fills.mark();
    return found.then((result) => answer(core, req, res, next, route, base, result, since));
  }
  return answer(core, req, res, next, route, base, found, undefined);
}

/** Hit, stale hit (with a background refresh), or fill. */
function answer(core: CacheCore, req: Request, res: Response, next: NextFunction, route: ResolvedRoute | undefined,
  base: string, found: Found, since: number | undefined): void | Promise<void> {
  const entry = found.entry;
  const now = Date.now();
  if (entry && now < entry.freshUntil) return hit(core, req, res, entry, 'HIT', now, found.failed);
  if (entry && now < entry.staleWhileRevalidateUntil) {
    hit(core, req, res, entry, 'STALE', now, found.failed);
    revalidate(core, req, found.key);
    return;
  }
  const stale = entry && now < entry.staleIfErrorUntil ? entry : undefined;
  return fill(core, req, res, next, { route, base, key: found.key, since, stale, failed: found.failed, detached: false });
}

/** Runs `serve`, sending both a synchronous throw and a rejection to Express's error handling. */
function run(core: CacheCore, req: Request, res: Response, next: NextFunction, route: ResolvedRoute | undefined): void {
  try {
    const pending = serve(core, req, res, next, route);
    if (pending) pending.catch(next);
  } catch (error) {
    next(error);
  }
}

interface Found {
  readonly entry: ResponseEntry | undefined;
  /** Where the entry is or would be: the base key, or the variant key a stored `Vary` selects. */
  readonly key: string;
  readonly failed: boolean;
}

/** One lookup; a second only when the stored response varies on request headers. */
function lookup(core: CacheCore, req: Request, base: string, baseKey: string): Found | Promise<Found> {
  const first = core.store.lookup(baseKey);
  if (first instanceof Promise) return first.then((found) => afterFirst(core, req, base, baseKey, found));
  return afterFirst(core, req, base, baseKey, first);
}

function afterFirst(core: CacheCore, req: Request, base: string, baseKey: string, first: Lookup): Found | Promise<Found> {
  if (first.entry?.kind === 'response') return { entry: first.entry, key: baseKey, failed: first.failed };
  if (first.entry?.kind !== 'vary') return { entry: undefined, key: baseKey, failed: first.failed };
  const key = core.keys.response(variantDigest(base, first.entry.fields, req));
  const toFound = (second: Lookup): Found => ({
    entry: second.entry?.kind === 'response' ? second.entry : undefined,
    key,
    failed: first.failed || second.failed,
  });
  const second = core.store.lookup(key);
  return second instanceof Promise ? second.then(toFound) : toFound(second);
}

/**
 * For the package's own routers (health, stats): mounted under `app.use(cache)`, their answers are neither cached
 * nor counted, so the figures describe the app's traffic, not the monitoring's.
 */
export function createIgnoreMiddleware(core: CacheCore): RequestHandler {
  return function resilientCacheIgnore(req: Request, _res: Response, next: NextFunction): void {
    const context = contextOf(core, req);
    if (context) {
      context.phase = 'handed-over';
      context.release();
    }
    next();
  };
}
