import type { NextFunction, Request, Response } from 'express';
import { captureResponse } from './capture.js';
import type { CacheCore } from '../core.js';
import { routeName } from './naming.js';
import type { ResolvedRoute } from '../config/options.js';
import { setContext, type RequestContext } from './request-context.js';

/**
 * Lets a request through to its handler without looking up or storing, marks it `X-Cache: BYPASS` and counts it.
 * A route with its own key that runs later may still take the request over (see `RequestContext`).
 */
export function bypass(core: CacheCore, req: Request, res: Response, next: NextFunction, route: ResolvedRoute | undefined): void {
  const context: RequestContext = { phase: 'bypass', route, release: () => undefined };
  setContext(core, req, context);
  captureResponse(res, {
    maxBodyBytes: 0,
    onHeaders: () => {
      if (context.phase === 'bypass' && core.options.xCache) res.setHeader('X-Cache', 'BYPASS');
      return 'pass';
    },
    onEnd: () => {
      if (context.phase === 'bypass') core.stats.count(routeName(context.route, req), 'bypasses');
    },
  });
  next();
}
