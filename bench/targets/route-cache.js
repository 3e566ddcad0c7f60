// route-cache with its default in-memory LRU store (per-route middleware, as its README shows).
import routeCache from 'route-cache';
import { origin, slow, startTarget } from '../lib/target-kit.js';

const TTL_SECONDS = 600;

await startTarget('route-cache', async (app) => {
  // Its LRU holds 64 MB of body text by default; a scenario caching more (spread with a large --urls) asks for room.
  const maxBytes = Number(process.env.BENCH_MAX_BYTES);
  if (maxBytes > 0) routeCache.config({ max: maxBytes });
  app.get('/item/:n', routeCache.cacheSeconds(TTL_SECONDS), origin);
  app.get('/slow/:n', routeCache.cacheSeconds(TTL_SECONDS), slow);
  // lru-cache 4 (route-cache's pinned version) exposes the entry count as `itemCount`.
  return { stats: () => ({ entries: routeCache.cacheStore.lru.itemCount }) };
});
