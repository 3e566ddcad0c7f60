import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '../helpers/app.js';
import { closeAll, startCachedApp, type CachedApp, type RouteSetup } from '../helpers/cached-app.js';
import { useRedisBehindProxy } from '../helpers/redis-behind-proxy.js';
import { resilientCache, type ResilientCache } from '../../src/index.js';

// A store that misses its deadline is abandoned by the request (it is not cached), but its bytes are still
// on their way to Redis. When they land after an invalidation, they must not bring the invalidated entry back.

const servers = useRedisBehindProxy();
let app: CachedApp | undefined;
let other: ResilientCache | undefined;

afterEach(async () => {
  servers.proxy.setLatency(0);
  servers.redis.resume();
  await closeAll(app, other);
  app = undefined;
  other = undefined;
});

/** `GET /tagged/:id` answers `tagged <id>`, tagged `item:<id>`. */
const taggedRoutes: RouteSetup = (expressApp, cache, count) => {
  expressApp.use(cache);
  expressApp.get('/tagged/:id', cache.route({ tags: (req) => [`item:${req.params['id']}`] }), (req, res) => {
    count();
    res.type('text/plain').send(`tagged ${req.params.id}`);
  });
};

async function startApp(): Promise<CachedApp> {
  const cached = (app = await startCachedApp({ redis: servers.proxy.url, redisTimeout: '50ms' }, taggedRoutes));
  await waitFor(() => cached.cache.tier === 'redis', 'cache never reached Redis', 5000);
  return cached;
}

async function xCache(cached: CachedApp, path: string): Promise<string | null> {
  const res = await fetch(`${cached.url}${path}`);
  await res.text();
  return res.headers.get('x-cache');
}

/** Waits for Redis to be answering through the proxy and the cache to be on it again. */
async function backToNormal(cached: CachedApp): Promise<void> {
  servers.proxy.setLatency(0);
  await waitFor(() => cached.cache.tier === 'redis', 'cache did not return to Redis', 5000);
}

test('300 ms of latency: a store that timed out and lands after this instance invalidated the tag stays invalidated', async () => {
  const cached = await startApp();
  servers.proxy.setLatency(300);
  // The lookup times out (50 ms), the handler answers, and the store (deadline 200 ms) is abandoned in flight.
  assert.equal(await xCache(cached, '/tagged/1'), 'MISS');
  await cached.cache.invalidate({ tags: ['item:1'] });
  // Each direction takes 300 ms: by 1.5 s everything sent so far has landed.
  await sleep(1500);
  await backToNormal(cached);
  assert.equal(await servers.redis.command('EXISTS', cached.responseKey('/tagged/1')), '0', 'the late write resurrected the entry');
  assert.equal(await xCache(cached, '/tagged/1'), 'MISS');
});

test('300 ms of latency: a store that timed out and lands after another instance invalidated the tag stays invalidated', async () => {
  const cached = await startApp();
  // Another instance of the app, with a healthy direct connection to the same Redis.
  other = resilientCache({ redis: servers.redis.url, redisTimeout: '50ms' });
  const otherCache = other;
  await waitFor(() => otherCache.tier === 'redis', 'the cache to serve from Redis', 5000);
  servers.proxy.setLatency(300);
  assert.equal(await xCache(cached, '/tagged/2'), 'MISS');
  // This instance gave up on its store 200 ms after sending it; the bytes reach Redis 300 ms after.
  await sleep(220);
  await otherCache.invalidate({ tags: ['item:2'] });
  await sleep(1500);
  await backToNormal(cached);
  assert.equal(await servers.redis.command('EXISTS', cached.responseKey('/tagged/2')), '0', 'the late write resurrected the entry');
  assert.equal(await xCache(cached, '/tagged/2'), 'MISS');
});

test('Redis frozen: a store buffered in the frozen server, invalidated meanwhile, is dropped when Redis resumes', async () => {
  const cached = await startApp();
  servers.redis.pause();
  assert.equal(await xCache(cached, '/tagged/3'), 'MISS');
  // Queued until Redis answers again (or applied late, behind the write): either way after it.
  await cached.cache.invalidate({ tags: ['item:3'] });
  await sleep(1000);
  servers.redis.resume();
  await waitFor(() => cached.cache.tier === 'redis', 'the cache to serve from Redis', 5000);
  await sleep(300);
  assert.equal(await servers.redis.command('EXISTS', cached.responseKey('/tagged/3')), '0', 'the late write resurrected the entry');
  assert.equal(await xCache(cached, '/tagged/3'), 'MISS');
});
