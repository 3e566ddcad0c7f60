// route-cache with the ioredis store it ships (route-cache/ioRedisStore.js). Each lookup is two Redis
// GETs (its `redirect:` key, then the response), values are JSON-encoded: that is route-cache's design.
import { Redis } from 'ioredis';
import routeCache from 'route-cache';
import IoRedisStore from 'route-cache/ioRedisStore.js';
import { origin, slow, startTarget } from '../lib/target-kit.js';

const TTL_SECONDS = 600;
let redisHits = 0;

/** Counts response hits served from Redis, so the outage scenario can see when Redis serves again. */
class CountingStore extends IoRedisStore {
  async get(key) {
    const value = await super.get(key);
    if (value && !key.startsWith('redirect:')) redisHits++;
    return value;
  }
}

await startTarget('route-cache-redis', async (app) => {
  const redis = new Redis(process.env.REDIS_URL, { keyPrefix: 'rcr:' });
  // Without a listener ioredis prints every connection error (e.g. EPIPE from a write racing quit() at shutdown).
  redis.on('error', () => {});
  routeCache.config({ cacheStore: new CountingStore(redis) });
  app.get('/item/:n', routeCache.cacheSeconds(TTL_SECONDS), origin);
  app.get('/slow/:n', routeCache.cacheSeconds(TTL_SECONDS), slow);
  return { stats: () => ({ redisHits }), close: () => redis.quit() };
});
