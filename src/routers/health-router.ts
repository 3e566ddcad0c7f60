import { Router, type Request, type Response } from 'express';
import type { CacheCore } from '../core.js';
import { createIgnoreMiddleware } from '../http/middleware.js';
import { checkHealth } from '../observe/health.js';
import { handleAsync } from './handle-async.js';

/** Options for `healthRouter()`. */
export interface HealthRouterOptions {
  /**
   * Answer `503` to `GET /` and `GET /ready` while the cache serves from memory because Redis is out (`warn`).
   * Off by default: the app is still fine, and a load balancer pulling every instance out would turn a Redis outage into
   * an app outage.
   * @default false
   */
  warnAs503?: boolean;
}

/**
 * `GET /` and `GET /ready`: the health report (`application/health+json`), 200 on pass or warn, 503 on fail (and on
 * warn with `warnAs503`). `GET /live`: 200 while the process answers.
 */
export function createHealthRouter(core: CacheCore, options: HealthRouterOptions = {}): Router {
  const warnAs503 = options.warnAs503 === true;
  const router = Router();
  router.use(createIgnoreMiddleware(core));
  const report = handleAsync(async (_req: Request, res: Response) => {
    const health = await checkHealth(core);
    const failing = health.status === 'fail' || (warnAs503 && health.status === 'warn');
    res.status(failing ? 503 : 200).type('application/health+json').set('Cache-Control', 'no-store').send(JSON.stringify(health));
  });
  router.get('/', report);
  router.get('/ready', report);
  router.get('/live', (_req, res) => {
    res.status(200).type('application/health+json').set('Cache-Control', 'no-store').send('{"status":"pass"}');
  });
  return router;
}
