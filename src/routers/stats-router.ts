import { Router, type Request, type Response } from 'express';
import type { CacheCore } from '../core.js';
import { createIgnoreMiddleware } from '../http/middleware.js';
import { collectStats } from '../observe/stats-report.js';
import { dashboardContentSecurityPolicy, dashboardPage } from '../dashboard/page.js';
import { handleAsync } from './handle-async.js';

/** Options for `statsRouter()`. */
export interface StatsRouterOptions {
  /** Heading of the HTML dashboard. @default 'Cache stats' */
  title?: string;
}

/**
 * `GET /`: every name's figures, totals, tier state and latency as JSON; with `Accept: text/html`, a live dashboard.
 * `GET /:name`: one name's figures (`name`, `hits`, `misses`, `total`, `hitRate`, …), 404 if never seen.
 */
export function createStatsRouter(core: CacheCore, options: StatsRouterOptions = {}): Router {
  const page = dashboardPage({ title: options.title ?? 'Cache stats' });
  const csp = dashboardContentSecurityPolicy();
  const router = Router();
  router.use(createIgnoreMiddleware(core));
  router.get('/', handleAsync(async (req: Request, res: Response) => {
    res.set('Cache-Control', 'no-store').vary('Accept');
    if (req.accepts(['json', 'html']) === 'html') {
      res.set('Content-Security-Policy', csp).type('html').send(page);
      return;
    }
    res.json(await collectStats(core));
  }));
  router.get('/:name', handleAsync(async (req: Request, res: Response) => {
    // Names are path patterns such as /users/:id: clients send them URL-encoded, and Express has decoded them already.
    const name = String(req.params.name);
    const report = await collectStats(core);
    // Own names only: `constructor` or `__proto__` asked for is a name nobody has, never Object.prototype's.
    const local = Object.hasOwn(report.names, name) ? report.names[name] : undefined;
    const all = report.shared && Object.hasOwn(report.shared.names, name) ? report.shared.names[name] : undefined;
    res.set('Cache-Control', 'no-store');
    if (!local && !all) {
      res.status(404).json({ error: `no figures for name ${JSON.stringify(name)}` });
      return;
    }
    res.json({ ...(local ?? all), shared: all ?? null });
  }));
  return router;
}
