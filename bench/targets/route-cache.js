// route-cache with its default in-memory LRU store (per-route middleware, as its README shows).
import routeCache from 'route-cache';
import { origin, slow, startTarget } from '../lib/target-kit.js';

const TTL_SECONDS = 600;

await startTarget('route-cache', async (app) => {
  app.get('/item/:n', routeCache.cacheSeconds(TTL_SECONDS), origin);
  app.get('/slow/:n', routeCache.cacheSeconds(TTL_SECONDS), slow);
  // lru-cache 4 (route-cache's pinned version) exposes the entry count as `itemCount`.
  return { stats: () => ({ entries: routeCache.cacheStore.lru.itemCount }) };
});
