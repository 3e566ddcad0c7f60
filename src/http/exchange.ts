import type { IncomingHttpHeaders } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import type { ResolvedRoute } from '../config/options.js';
import type { CacheCore } from '../core.js';
import type { ResponseEntry } from '../entry/entry.js';
import type { CounterField } from '../observe/stats.js';
import type { TierName } from '../stores/tiered-store.js';
import type { ResponseWriter } from './capture.js';
import { cacheStatusValue, type CacheStatusParams } from './cache-status.js';
import type { BypassReason } from './identity.js';
import { isRefresh } from './refresh.js';
import { replay, type ReplayLabel } from './replay.js';
import { routeName } from './route-names.js';

/**
 * Where a request handed on to its handler stands. filling: its response is being recorded for the cache; bypass:
 * answered by the handler, neither stored nor shared; handed-over: a route with its own key took it over.
 */
export type Phase = 'filling' | 'bypass' | 'handed-over';

const EXCHANGES = new WeakMap<Request, Map<CacheCore, Exchange>>();

/**
 * One request as one cache sees it, from lookup to store: what the request path hands from step to step instead of a
 * list of parameters. Left on the request when it goes on to its handler, it is also how `app.use(cache)` and
 * `cache.route()` agree: the app-wide middleware looks up first and, on a miss, leaves its exchange; the route then
 * adds its options (ttl, tags, name) for the store, opts out (`route(false)`), or, having a key of its own, takes the
 * request over and looks up under that key.
 */
export class Exchange {
  readonly core: CacheCore;
  readonly req: Request;
  readonly res: Response;
  readonly next: NextFunction;
  /** The copy of a request that a background refresh sends through the app: no client reads its response. */
  readonly refresh: boolean;
  /** The route's options, once its middleware has run. */
  route: ResolvedRoute | undefined;
  phase: Phase = 'bypass';
  /** Why the request was bypassed, when it was for who it is (a route may lift that). */
  bypassedFor: BypassReason | undefined;
  /** Stops a fill this request leads (releasing its waiters) when its route opts out or takes over. */
  release: () => void = () => undefined;

  constructor(core: CacheCore, req: Request, res: Response, next: NextFunction, route: ResolvedRoute | undefined) {
    this.core = core;
    this.req = req;
    this.res = res;
    this.next = next;
    this.route = route;
    this.refresh = isRefresh(req);
  }

  /** The exchange a cache left on a request, if any (two caches on one app keep separate ones). */
  static of(core: CacheCore, req: Request): Exchange | undefined {
    return EXCHANGES.get(req)?.get(core);
  }

  /** Leaves this exchange on the request, for the route middleware that may run later. */
  attach(phase: Phase): void {
    this.phase = phase;
    let byCache = EXCHANGES.get(this.req);
    if (!byCache) EXCHANGES.set(this.req, (byCache = new Map()));
    byCache.set(this.core, this);
  }

  /** Labels the response with `X-Cache` (unless the option is off, or no client reads it). */
  get labelled(): boolean {
    return this.core.options.xCache && !this.refresh;
  }

  /** The name the request is counted under: the route's `name`, else its path pattern (see `routeName`). */
  get name(): string {
    return this.route?.name ?? routeName(this.req);
  }

  /** The route's tags for this response. A tag function that throws stops the response being stored or shared. */
  tags(): readonly string[] {
    const tags = this.route?.tags;
    if (tags === undefined) return [];
    const list = typeof tags === 'function' ? tags(this.req, this.res) : tags;
    return Array.isArray(list) ? list.filter((t): t is string => typeof t === 'string' && t !== '') : [];
  }

  count(field: CounterField, name = this.name): void {
    this.core.stats.count(name, field);
  }

  /** Marks a response the cache let through without looking up or storing: `X-Cache: BYPASS`, `fwd=bypass`. */
  labelBypass(): void {
    if (this.labelled) this.res.setHeader('X-Cache', 'BYPASS');
    const status = this.cacheStatus({ fwd: 'bypass' });
    if (status) this.res.setHeader('Cache-Status', status);
  }

  /** A `Cache-Status` value for this response, or undefined when the option is off or no client reads it. */
  cacheStatus(params: CacheStatusParams): string | undefined {
    const name = this.core.options.cacheStatus;
    return name === undefined || this.refresh ? undefined : cacheStatusValue(name, params);
  }

  /**
   * Answers from a stored entry and counts it under the name it was stored with: a hit, a stale hit, or (after the
   * route confirmed it with a 304) a revalidated one, which counts as a hit.
   */
  hit(entry: ResponseEntry, label: Exclude<ReplayLabel, 'MISS'>, failed: boolean, extra?: { collapsed?: boolean; writer?: ResponseWriter;
    clientHeaders?: IncomingHttpHeaders }, from?: TierName): void {
    this.count(label === 'STALE' ? 'stale' : 'hits', entry.name);
    if (from) this.core.stats.servedFrom(from);
    if (failed) this.count('errors', entry.name);
    const now = this.core.clock.now();
    // Made only when asked for: a hit with the option off allocates nothing for it.
    const cacheStatus = this.core.options.cacheStatus === undefined ? undefined : this.cacheStatus(label === 'REVALIDATED'
      ? { fwd: 'stale', fwdStatus: 304, ttlMs: entry.freshUntil - now }
      : { hit: true, ttlMs: entry.freshUntil - now, collapsed: extra?.collapsed === true });
    replay(this.req, this.res, entry, {
      label: this.core.options.xCache ? label : undefined,
      cacheStatus,
      now,
      writer: extra?.writer,
      clientHeaders: extra?.clientHeaders,
    });
  }
}
