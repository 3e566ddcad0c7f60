import type { Request } from 'express';
import type { ResolvedRoute } from '../config/options.js';

/**
 * How `app.use(cache)` and `cache.route()` on the same request agree: the app-wide middleware looks up first and,
 * on a miss, leaves this context on the request; the route then adds its options (ttl, tags, name) for the store,
 * opts out (`route(false)`), or, having a key of its own, takes the request over and looks up under that key.
 */
export interface RequestContext {
  /** filling: recording a miss; bypass: answered by the handler, not cached; handed-over: a route took over. */
  phase: 'filling' | 'bypass' | 'handed-over';
  /** The route's options, once its middleware has run. */
  route: ResolvedRoute | undefined;
  /** A filling request stops filling (and releases any waiters) when its route opts out or takes over. */
  release(): void;
}

const CONTEXTS = new WeakMap<Request, Map<object, RequestContext>>();

/** The context a cache instance left on a request, if any (two caches on one app keep separate contexts). */
export function contextOf(owner: object, req: Request): RequestContext | undefined {
  return CONTEXTS.get(req)?.get(owner);
}

export function setContext(owner: object, req: Request, context: RequestContext): void {
  let byOwner = CONTEXTS.get(req);
  if (!byOwner) CONTEXTS.set(req, (byOwner = new Map()));
  byOwner.set(owner, context);
}
