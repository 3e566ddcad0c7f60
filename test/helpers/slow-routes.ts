import { setTimeout as sleep } from 'node:timers/promises';
import type { RouteSetup } from './cached-app.js';

/** How long `GET /slow/:id` takes to answer. */
export const SLOW_HANDLER_MS = 200;

/**
 * `GET /slow/:id` answers `slow <id>` after {@link SLOW_HANDLER_MS}, counting each run; `GET /runs` (not cached)
 * answers that count, so a parent process can read a child's.
 */
export const slowRoutes: RouteSetup = (app, cache, count) => {
  let runs = 0;
  app.get('/runs', cache.route(false), (_req, res) => void res.json({ runs }));
  app.use(cache);
  app.get('/slow/:id', async (req, res) => {
    runs++;
    count();
    await sleep(SLOW_HANDLER_MS);
    res.type('text/plain').send(`slow ${req.params.id}`);
  });
};

/** The body `slowRoutes` sends for a path. */
export function slowBodyOk(path: string, body: string): boolean {
  return body === `slow ${path.slice('/slow/'.length)}`;
}
