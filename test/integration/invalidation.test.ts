import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { resilientCache, type ResilientCache, type ResilientCacheOptions } from '../../src/index.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { coreOf } from '../../src/core.js';
import { Calls, STEADY, listen, nextEvent, redisKeys, redisReady, request, storedKeys, waitFor, xCache, type RunningApp } from '../helpers/app.js';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

// Invalidation by key, tag and name, from both tiers, and not lost while Redis is out.

let server: RedisServer;
const closers: Array<() => Promise<void>> = [];
let prefixes = 0;

before(async () => {
  server = await startRedisServer();
});

after(async () => {
  for (const close of closers.reverse()) await close();
  await server?.stop();
});

interface TestApp {
  app: RunningApp;
  cache: ResilientCache;
  calls: Calls;
  prefix: string;
}

/** `/items/:id` (name `items`, tags `item:<id>` and `items`) and `/things/:id` (default name, no tags). */
async function startApp(options: ResilientCacheOptions): Promise<TestApp> {
  const prefix = `inv${++prefixes}:`;
  const cache = resilientCache({ ...STEADY, prefix, ttl: '60s', ...options });
  const calls = new Calls();
  const web = express();
  web.use(cache);
  web.get('/items/:id', cache.route({ name: 'items', tags: (req) => [`item:${req.params.id}`, 'items'] }), (req, res) => {
    calls.add(`item ${req.params.id}`);
    res.send(`item ${req.params.id} v${calls.of(`item ${req.params.id}`)}`);
  });
  web.get('/things/:id', (req, res) => {
    calls.add(`thing ${req.params.id}`);
    res.send(`thing ${req.params.id}`);
  });
  const app = await listen(web);
  closers.push(async () => {
    await app.close();
    await cache.close();
  });
  return { app, cache, calls, prefix };
}

/** The X-Cache label of one request per path. */
async function labels(app: RunningApp, paths: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const path of paths) out.push(xCache(await request(app.base, path)) ?? '-');
  return out;
}

describe('with Redis', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp({ redis: server.url });
    await redisReady(t.cache);
  });

  it('by getOrSet key: removed from Redis, the next call fetches', async () => {
    assert.equal(await t.cache.getOrSet('user:1', () => 'v1'), 'v1');
    const [key] = await storedKeys(server, `${t.prefix}v:*`);
    assert.ok(key);
    assert.ok((await t.cache.invalidate({ keys: ['user:1'] })) >= 1);
    assert.equal(await server.command('EXISTS', key), '0');
    assert.equal(await t.cache.getOrSet('user:1', () => 'v2'), 'v2');
  });

  it('by the absolute URL of a cached response, query in any order', async () => {
    assert.deepEqual(await labels(t.app, ['/things/1?b=2&a=1', '/things/1?b=2&a=1', '/things/2']), ['MISS', 'HIT', 'MISS']);
    assert.ok((await t.cache.invalidate({ keys: [`${t.app.base}/things/1?a=1&b=2`] })) >= 1);
    assert.deepEqual(await labels(t.app, ['/things/1?a=1&b=2', '/things/2']), ['MISS', 'HIT']);
    assert.equal(t.calls.of('thing 1'), 2);
  });

  it('by tag: only the tagged entries go, from Redis too', async () => {
    assert.deepEqual(await labels(t.app, ['/items/1', '/items/2', '/items/1', '/items/2']), ['MISS', 'MISS', 'HIT', 'HIT']);
    await t.cache.getOrSet('tagged-value', () => 'tagged', { tags: ['item:1'] });
    await t.cache.getOrSet('other-value', () => 'other', { tags: ['item:2'] });
    const entriesBefore = await storedKeys(server, `${t.prefix}r:*`, 2);
    assert.ok((await t.cache.invalidate({ tags: ['item:1'] })) >= 2, 'the response and the value');
    const entriesAfter = await redisKeys(server, `${t.prefix}r:*`);
    assert.equal(entriesAfter.length, entriesBefore.length - 1, 'one response entry left Redis');
    const after = await request(t.app.base, '/items/1');
    assert.equal(xCache(after), 'MISS');
    assert.equal(after.body.toString(), 'item 1 v2', 'a fresh response, not the old one');
    assert.deepEqual(await labels(t.app, ['/items/2']), ['HIT']);
    assert.equal(await t.cache.getOrSet('tagged-value', () => 'refetched'), 'refetched');
    assert.equal(await t.cache.getOrSet('other-value', () => 'refetched'), 'other');
  });

  it('by name: the route name, and the path pattern used by default', async () => {
    assert.deepEqual(await labels(t.app, ['/items/3', '/items/3', '/things/9', '/things/9']), ['MISS', 'HIT', 'MISS', 'HIT']);
    await t.cache.invalidate({ names: ['items'] });
    assert.deepEqual(await labels(t.app, ['/items/1', '/items/2', '/items/3', '/things/9']), ['MISS', 'MISS', 'MISS', 'HIT']);
    await t.cache.invalidate({ names: ['/things/:id'] });
    assert.deepEqual(await labels(t.app, ['/things/9', '/things/1?a=1&b=2', '/items/3']), ['MISS', 'MISS', 'HIT']);
  });
});

describe('tag and name sets in Redis', () => {
  it('keep only live entries: members that expired are dropped as new ones arrive', async () => {
    const t = await startApp({ redis: server.url, ttl: '1s' });
    await redisReady(t.cache);
    const tagKey = coreOf(t.cache).keys.tag('items');
    const nameKey = coreOf(t.cache).keys.name('items');
    for (const id of ['a', 'b', 'c']) await request(t.app.base, `/items/${id}`);
    await waitFor(async () => (await server.command('ZCARD', tagKey)) === '3', 'three members in the tag set');
    await sleep(1200);
    await request(t.app.base, '/items/d');
    // Without pruning, a busy route's sets (whose own TTL keeps being pushed out) would hold every key ever stored.
    await waitFor(async () => (await server.command('ZCARD', tagKey)) === '1', 'the expired members dropped');
    assert.equal(await server.command('ZCARD', nameKey), '1');
    assert.equal(await t.cache.invalidate({ tags: ['items'] }), 1);
    assert.equal(xCache(await request(t.app.base, '/items/d')), 'MISS');
  });
});

describe('from the memory tier', () => {
  it('by key, tag and name, without Redis', async () => {
    const t = await startApp({});
    const fill = () => labels(t.app, ['/items/1', '/items/2', '/things/1', '/things/2']);
    assert.deepEqual(await fill(), ['MISS', 'MISS', 'MISS', 'MISS']);
    assert.deepEqual(await fill(), ['HIT', 'HIT', 'HIT', 'HIT']);
    await t.cache.invalidate({ keys: [`${t.app.base}/things/1`] });
    await t.cache.invalidate({ tags: ['item:2'] });
    assert.deepEqual(await fill(), ['HIT', 'MISS', 'MISS', 'HIT']);
    await t.cache.invalidate({ names: ['items', '/things/:id'] });
    assert.deepEqual(await fill(), ['MISS', 'MISS', 'MISS', 'MISS']);
    await t.cache.getOrSet('k', () => 'v1');
    await t.cache.invalidate({ keys: ['k'] });
    assert.equal(await t.cache.getOrSet('k', () => 'v2'), 'v2');
  });
});

describe('while Redis is out', () => {
  it('removes from memory at once and from Redis as soon as it returns, before it serves again', async () => {
    const proxy = await startFaultProxy({ port: server.port });
    closers.push(() => proxy.close());
    const t = await startApp({ redis: proxy.url });
    await redisReady(t.cache);
    assert.deepEqual(await labels(t.app, ['/items/1', '/things/1', '/items/1', '/things/1']), ['MISS', 'MISS', 'HIT', 'HIT']);
    assert.equal(await t.cache.getOrSet('user:7', () => 'v1', { tags: ['user:7'] }), 'v1');
    const inRedis = await storedKeys(server, `${t.prefix}[rv]:*`, 3);

    const degraded = nextEvent(t.cache, 'degraded');
    proxy.refuse(true);
    await degraded;
    // Served and stored in memory while Redis is out.
    assert.deepEqual(await labels(t.app, ['/items/1', '/things/1', '/items/1', '/things/1']), ['MISS', 'MISS', 'HIT', 'HIT']);

    await t.cache.invalidate({ tags: ['item:1'] });
    await t.cache.invalidate({ keys: [`${t.app.base}/things/1`, 'user:7'] });
    assert.equal(t.cache.stats().tier.pendingInvalidations, 3);
    assert.deepEqual(await labels(t.app, ['/items/1', '/things/1']), ['MISS', 'MISS'], 'gone from memory at once');
    assert.deepEqual((await redisKeys(server, `${t.prefix}[rv]:*`)).sort(), inRedis.sort(), 'Redis still holds them');

    const recovered = nextEvent(t.cache, 'recovered', 10_000);
    proxy.refuse(false);
    await recovered;
    assert.deepEqual(await redisKeys(server, `${t.prefix}[rv]:*`), [], 'applied in Redis on its return');
    assert.equal(t.cache.stats().tier.pendingInvalidations, 0);
    const item = await request(t.app.base, '/items/1');
    assert.equal(xCache(item), 'MISS');
    assert.equal(item.body.toString(), `item 1 v${t.calls.of('item 1')}`);
    assert.equal(await t.cache.getOrSet('user:7', () => 'v2'), 'v2');
  });

  it('an invalidation Redis does not take (frozen, circuit still closed) moves reads off Redis until it is applied', async () => {
    const t = await startApp({ redis: server.url, redisTimeout: '50ms' });
    await redisReady(t.cache);
    assert.deepEqual(await labels(t.app, ['/items/9', '/items/9']), ['MISS', 'HIT']);
    await storedKeys(server, `${t.prefix}r:*`, 1);

    server.pause();
    try {
      await t.cache.invalidate({ tags: ['item:9'] });
      // The tagged entry still sits in Redis: the cache must not read Redis until the removal has landed there.
      assert.equal(t.cache.tier, 'memory');
      assert.equal(t.cache.stats().tier.pendingInvalidations, 1);
    } finally {
      server.resume();
    }
    await nextEvent(t.cache, 'recovered', 10_000);
    assert.deepEqual(await redisKeys(server, `${t.prefix}r:*`), [], 'applied in Redis before it serves again');
    const item = await request(t.app.base, '/items/9');
    assert.equal(xCache(item), 'MISS');
  });
});
