import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { ResolvedRoute } from '../config/options.js';
import type { CacheCore } from '../core.js';
import type { ResponseEntry } from '../entry/entry.js';
import { channels } from '../observe/channels.js';
import { describeError, log } from '../observe/debug.js';
import type { Lookup, TierName } from '../stores/tiered-store.js';
import { captureResponse } from './capture.js';
import { Exchange } from './exchange.js';
import { bypassReason, isIdentity, type BypassReason } from './identity.js';
import { variantDigest, type RequestKey } from './keys.js';
import { miss } from './miss.js';
import { refreshInBackground, staleEntryOf } from './refresh.js';
import { invalidateAfterUnsafe, isUnsafe } from './unsafe.js';

// The request path, top to bottom: the Express doors (app.use, route, the package's own routers), then one lookup and
// its answer: a hit, a stale hit with a background refresh, a bypass, or a miss (miss.ts records and stores it).

/** `app.use(cache)`: looks up every GET/HEAD reaching it with the app-wide options. */
export function createMiddleware(core: CacheCore): RequestHandler {
  return function resilientCacheMiddleware(req: Request, res: Response, next: NextFunction): void {
    if (Exchange.of(core, req)) return next();
    run(new Exchange(core, req, res, next, undefined));
  };
}

/** `cache.route(options)`: caches one route, alone or under `app.use(cache)` (its options win). */
export function createRouteMiddleware(core: CacheCore, route: ResolvedRoute | false): RequestHandler {
  return function resilientCacheRoute(req: Request, res: Response, next: NextFunction): void {
    const earlier = Exchange.of(core, req);
    if (route === false) {
      if (!earlier) return bypass(new Exchange(core, req, res, next, undefined));
      // The app-wide lookup missed; stop filling so this response is neither stored nor shared.
      if (earlier.phase === 'filling') earlier.phase = 'bypass';
      earlier.release();
      return next();
    }
    if (earlier) {
      if (earlier.phase === 'handed-over' || !(route.key !== undefined || liftedBy(route, earlier))) {
        earlier.route = route;
        return next();
      }
      // A key of its own (the app-wide lookup used another), or cookie rules of its own that let this request use
      // the cache: this route looks up again.
      earlier.phase = 'handed-over';
      earlier.release();
    }
    run(new Exchange(core, req, res, next, route));
  };
}

/** True when the app-wide middleware bypassed a request for who it is, and this route's rules let it in. */
function liftedBy(route: ResolvedRoute, earlier: Exchange): boolean {
  return earlier.phase === 'bypass' && isIdentity(earlier.bypassedFor) && bypassReason(earlier.req, route, route.policy) === undefined;
}

/**
 * For the package's own routers (health, stats): mounted under `app.use(cache)`, their answers are neither cached
 * nor counted, so the figures describe the app's traffic, not the monitoring's.
 */
export function createIgnoreMiddleware(core: CacheCore): RequestHandler {
  return function resilientCacheIgnore(req: Request, _res: Response, next: NextFunction): void {
    const earlier = Exchange.of(core, req);
    if (earlier) {
      earlier.phase = 'handed-over';
      earlier.release();
    }
    next();
  };
}

/** Runs `serve`, sending both a synchronous throw and a rejection to Express's error handling. */
function run(x: Exchange): void {
  try {
    const pending = serve(x);
    if (pending) pending.catch(x.next);
  } catch (error) {
    x.next(error);
  }
}

/**
 * Looks up and answers, or hands the request on to be filled. Synchronous up to the lookup: a memory hit is served
 * in the calling tick and returns nothing; otherwise it returns the promise of the rest.
 */
function serve(x: Exchange): void | Promise<void> {
  const { core, req, route } = x;
  if (core.closed) return x.next();
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    if (core.options.invalidateOnUnsafe && isUnsafe(req.method)) invalidateAfterUnsafe(core, req, x.res);
    return x.next();
  }
  // A shared cache must not answer one user with another's response (see identity.ts).
  const reason = bypassReason(req, route, route?.policy ?? core.options.policy);
  if (reason) return bypass(x, reason);
  let requestKey: RequestKey | undefined;
  try {
    if (!route?.key) requestKey = core.requestKeys.ofRequest(req);
    else {
      const own: unknown = route.key(req);
      if (typeof own === 'string') requestKey = core.requestKeys.ofRouteKey(own);
      else if (log.middleware.enabled) log.middleware('route key() returned %s, not a string; not caching', typeof own);
    }
  } catch (error) {
    if (log.middleware.enabled) log.middleware('cache key could not be computed (%s); not caching', describeError(error));
  }
  if (!requestKey) return bypass(x);
  if (x.refresh) {
    const validate = staleEntryOf(req);
    return miss(x, requestKey.digest, { key: requestKey.key, since: undefined, stale: undefined, validate, failed: false, forward: 'stale' });
  }
  const found = lookup(x, requestKey);
  if (found instanceof Promise) {
    // Taken in the tick the lookup began (no fill is released within a tick): see `MissLookup.since`.
    const since = core.fills.mark();
    return found.then((result) => answer(x, requestKey.digest, result, since));
  }
  return answer(x, requestKey.digest, found, undefined);
}

/** What one lookup found for a request, and where the entry is or would be. */
interface Found {
  readonly entry: ResponseEntry | undefined;
  /** The base key, or the variant key a stored `Vary` selects. */
  readonly key: string;
  readonly failed: boolean;
  /** The tier that answered (the variant's lookup, when there were two). */
  readonly tier: TierName;
  /** A stored `Vary` index selected a variant that is not stored. */
  readonly variantMissing?: boolean;
}

/**
 * Hit, stale hit (with a background refresh), or miss. A stale entry the route can revalidate (every entry has an
 * entity tag) goes to the miss as one to validate: the route is asked whether it is still current (RFC 9111 §4.3).
 */
function answer(x: Exchange, base: string, found: Found, since: number | undefined): void | Promise<void> {
  const { entry, key, failed } = found;
  const now = x.core.clock.now();
  if (entry && now < entry.freshUntil) {
    if (channels.lookup.hasSubscribers) channels.lookup.publish({ req: x.req, result: 'hit', tier: found.tier, name: entry.name, failed });
    return x.hit(entry, 'HIT', failed, undefined, found.tier);
  }
  if (entry && now < entry.staleWhileRevalidateUntil) {
    if (channels.lookup.hasSubscribers) channels.lookup.publish({ req: x.req, result: 'stale', tier: found.tier, name: entry.name, failed });
    x.hit(entry, 'STALE', failed, undefined, found.tier);
    refreshInBackground(x.core, x.req, key, entry);
    return;
  }
  const stale = entry && now < entry.staleIfErrorUntil ? entry : undefined;
  const forward = entry ? 'stale' : found.variantMissing ? 'vary-miss' : 'uri-miss';
  if (channels.lookup.hasSubscribers) channels.lookup.publish({ req: x.req, result: 'miss', tier: found.tier, name: x.route && x.name, failed });
  return miss(x, base, { key, since, stale, validate: entry, failed, forward });
}

/** One lookup; a second only when the stored response varies on request headers. */
function lookup(x: Exchange, requestKey: RequestKey): Found | Promise<Found> {
  const first = x.core.store.lookup(requestKey.key);
  return first instanceof Promise ? first.then((found) => afterFirst(x, requestKey, found)) : afterFirst(x, requestKey, first);
}

function afterFirst(x: Exchange, { digest: base, key: baseKey }: RequestKey, first: Lookup): Found | Promise<Found> {
  if (first.entry?.kind === 'response') return { entry: first.entry, key: baseKey, failed: first.failed, tier: first.tier };
  if (first.entry?.kind !== 'vary') return { entry: undefined, key: baseKey, failed: first.failed, tier: first.tier };
  const key = x.core.keys.response(variantDigest(base, first.entry.fields, x.req));
  const toFound = (second: Lookup): Found => ({
    entry: second.entry?.kind === 'response' ? second.entry : undefined,
    key,
    failed: first.failed || second.failed,
    tier: second.tier,
    variantMissing: second.entry?.kind !== 'response',
  });
  const second = x.core.store.lookup(key);
  return second instanceof Promise ? second.then(toFound) : toFound(second);
}

/**
 * Lets a request through to its handler without looking up or storing, marks it `X-Cache: BYPASS` and counts it.
 * A route with its own key that runs later may still take the request over (see `Exchange`).
 */
function bypass(x: Exchange, reason?: BypassReason): void {
  x.bypassedFor = reason;
  x.attach('bypass');
  if (channels.lookup.hasSubscribers) channels.lookup.publish({ req: x.req, result: 'bypass', tier: undefined, name: x.route && x.name, failed: false });
  captureResponse(x.res, {
    maxBodyBytes: 0,
    onHeaders: () => {
      if (x.phase === 'bypass') x.labelBypass();
      return 'pass';
    },
    onEnd: () => {
      if (x.phase === 'bypass') x.count('bypasses');
    },
  });
  x.next();
}
