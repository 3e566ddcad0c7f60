import express, { type Express } from 'express';
import { coreOf } from '../../src/core.js';
import { resilientCache, type ResilientCache, type ResilientCacheOptions } from '../../src/index.js';
import { canonicalUrlOf } from '../../src/http/keys.js';
import { digest } from '../../src/stores/key-space.js';
import { listen } from './app.js';

/** An Express app behind a real HTTP server, with the cache under test in front of its routes. */
export interface CachedApp {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly cache: ResilientCache;
  /** How many times any route handler has run. */
  handlerRuns(): number;
  /** The Redis key a GET of `path` on this app is cached under. */
  responseKey(path: string): string;
  /** The Redis key `cache.getOrSet(key, …)` stores its value under. */
  valueKey(key: string): string;
  /** Entries in the memory tier right now. */
  memoryEntries(): number;
  /** Redis calls that have failed or missed their deadline so far. */
  redisErrors(): number;
  /** Closes the HTTP server and the cache. */
  close(): Promise<void>;
}

/** Adds routes to the app; `count()` records a handler run. */
export type RouteSetup = (app: Express, cache: ResilientCache, count: () => void) => void;

/** The default routes: `GET /items/:id` answers `item <id>` at once, counting each run. */
export const itemRoutes: RouteSetup = (app, cache, count) => {
  app.use(cache);
  app.get('/items/:id', (req, res) => {
    count();
    res.type('text/plain').send(`item ${req.params.id}`);
  });
};

/** `/items/0` … `/items/(n-1)`, optionally under a different id prefix so scenarios do not share keys. */
export function itemPaths(n: number, idPrefix = ''): string[] {
  return Array.from({ length: n }, (_, i) => `/items/${idPrefix}${i}`);
}

/** The body `itemRoutes` sends for a path. */
export function itemBodyOk(path: string, body: string): boolean {
  return body === `item ${path.slice('/items/'.length)}`;
}

/** Starts `resilientCache(options)` in an app on a free port. */
export async function startCachedApp(options: ResilientCacheOptions, setup: RouteSetup = itemRoutes): Promise<CachedApp> {
  const cache = resilientCache(options);
  let runs = 0;
  const app = express();
  setup(app, cache, () => void runs++);
  const running = await listen(app);
  const url = running.base;
  const core = coreOf(cache);
  return {
    url,
    cache,
    handlerRuns: () => runs,
    responseKey: (path) => core.keys.response(digest(canonicalUrlOf(`${url}${path}`) as string)),
    valueKey: (key) => core.keys.value(key),
    memoryEntries: () => core.store.memory.size,
    redisErrors: () => core.store.redisErrors,
    close: async () => {
      await running.close();
      await cache.close();
    },
  };
}

/** Closes servers even when a test failed half-way. */
export async function closeAll(...apps: Array<{ close(): Promise<void> } | undefined>): Promise<void> {
  await Promise.allSettled(apps.map((app) => app?.close()));
}
