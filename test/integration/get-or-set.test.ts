import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import express from 'express';
import { resilientCache, type ResilientCache } from '../../src/index.js';
import { STEADY, listen, redisKeys, redisReady, request, storedKeys, xCache } from '../helpers/app.js';
import { freePort } from '../helpers/free-port.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

// getOrSet, against Redis and without it.

let server: RedisServer;
let cache: ResilientCache;
const closers: Array<() => Promise<void>> = [];

before(async () => {
  server = await startRedisServer();
  cache = resilientCache({ ...STEADY, redis: server.url, prefix: 'gos:', ttl: '60s' });
  closers.push(() => cache.close());
  await redisReady(cache);
});

after(async () => {
  for (const close of closers.reverse()) await close();
  await server?.stop();
});

/** A fetcher that counts its calls. */
function counted<T>(value: () => T | Promise<T>): { fetch: () => Promise<T>; calls: () => number } {
  let calls = 0;
  return {
    fetch: async () => {
      calls++;
      return value();
    },
    calls: () => calls,
  };
}

describe('getOrSet', () => {
  it('returns the cached value: the fetcher runs once for two calls in a row', async () => {
    const user = counted(() => ({ id: 42, name: 'Ada', roles: ['admin'], active: true, manager: null }));
    const first = await cache.getOrSet('user:42', user.fetch);
    const second = await cache.getOrSet('user:42', user.fetch);
    assert.deepEqual(first, { id: 42, name: 'Ada', roles: ['admin'], active: true, manager: null });
    assert.deepEqual(second, first);
    assert.equal(user.calls(), 1);
    const keys = await redisKeys(server, 'gos:v:*');
    assert.ok(keys.length >= 1, 'the value lives in Redis');
  });

  it('counts its hits by where they were served from, as response hits are', async () => {
    const price = counted(() => 12.5);
    const servedFrom = () => cache.stats().tier.servedFrom;
    await cache.getOrSet('price:served', price.fetch);
    const before = servedFrom();
    for (let i = 0; i < 3; i++) await cache.getOrSet('price:served', price.fetch);
    const after = servedFrom();
    assert.equal(price.calls(), 1);
    assert.equal((after.near - before.near) + (after.redis - before.redis), 3, 'three hits, from the near-cache or Redis');
    assert.equal(after.memory, before.memory, 'none from the memory fallback while Redis serves');
  });

  it('runs the fetcher once for 20 concurrent calls', async () => {
    const slow = counted(async () => {
      await sleep(50);
      return { report: 'expensive' };
    });
    const results = await Promise.all(Array.from({ length: 20 }, () => cache.getOrSet('report:q3', slow.fetch)));
    assert.equal(slow.calls(), 1);
    for (const result of results) assert.deepEqual(result, { report: 'expensive' });
    assert.deepEqual(await cache.getOrSet('report:q3', slow.fetch), { report: 'expensive' });
    assert.equal(slow.calls(), 1);
  });

  it('round-trips a Buffer and Buffers nested in objects and arrays', async () => {
    const bytes = Buffer.concat([Buffer.from([0xff, 0x00, 0xc3, 0x28]), randomBytes(300)]);
    const plain = counted(() => bytes);
    await cache.getOrSet('bytes', plain.fetch);
    const cachedBytes = await cache.getOrSet('bytes', plain.fetch);
    assert.equal(plain.calls(), 1);
    assert.ok(Buffer.isBuffer(cachedBytes));
    assert.ok(cachedBytes.equals(bytes));

    const nested = { name: 'avatar', image: randomBytes(64), parts: [randomBytes(3), { deep: Buffer.from('héllo') }], size: 64 };
    const deep = counted(() => nested);
    await cache.getOrSet('nested', deep.fetch);
    const cachedNested = await cache.getOrSet('nested', deep.fetch);
    assert.equal(deep.calls(), 1);
    assert.deepEqual(cachedNested, nested);
    assert.ok(Buffer.isBuffer(cachedNested.image));
    assert.ok(Buffer.isBuffer((cachedNested.parts[1] as { deep: Buffer }).deep));
  });

  it('a fetcher that throws with nothing cached: fallbackValue when given, else the error', async () => {
    const boom = new Error('database down');
    const failing = () => {
      throw boom;
    };
    assert.equal(await cache.getOrSet('down:1', failing, { fallbackValue: 'fallback' }), 'fallback');
    assert.equal(await cache.getOrSet('down:2', failing, { fallbackValue: null }), null, 'null is a fallback too');
    await assert.rejects(cache.getOrSet('down:3', failing), (error) => error === boom);
    await assert.rejects(cache.getOrSet('down:4', () => Promise.reject(boom)), (error) => error === boom);
    // Nothing was cached for a failure: the next call fetches.
    assert.equal(await cache.getOrSet('down:1', () => 'now up'), 'now up');
  });

  it('still calls the fetcher and returns its value when Redis is absent or dies', async () => {
    const absent = resilientCache({ redis: `redis://127.0.0.1:${await freePort()}` });
    closers.push(() => absent.close());
    assert.equal(await absent.getOrSet('k', () => 'from the fetcher'), 'from the fetcher');
    assert.equal(await absent.getOrSet('k', () => 'not called'), 'from the fetcher', 'cached in memory');

    const victim = await startRedisServer();
    closers.push(() => victim.stop());
    const dying = resilientCache({ redis: victim.url, prefix: 'dying:' });
    closers.push(() => dying.close());
    await redisReady(dying);
    assert.equal(await dying.getOrSet('before', () => 1), 1);
    // Stored in Redis (a write cut off by the kill would land in memory instead, and be served from there).
    await storedKeys(victim, 'dying:v:*');
    await victim.kill();
    for (let i = 0; i < 10; i++) {
      const started = performance.now();
      assert.equal(await dying.getOrSet(`after:${i}`, () => `value ${i}`), `value ${i}`);
      assert.ok(performance.now() - started < 1000);
    }
    const fetchAgain = counted(() => 'fetched while Redis is down');
    assert.equal(await dying.getOrSet('before', fetchAgain.fetch), 'fetched while Redis is down');
    assert.equal(await dying.getOrSet('before', fetchAgain.fetch), 'fetched while Redis is down');
    assert.equal(fetchAgain.calls(), 1, 'then served from memory');
    assert.equal(dying.tier, 'memory');
  });

  it('keeps its keys apart from response keys: the same string as a URL does not collide', async () => {
    const web = express();
    web.use(cache);
    web.get('/thing', (_req, res) => {
      res.send('the HTTP response');
    });
    const app = await listen(web);
    closers.push(() => app.close());
    const url = `${app.base}/thing`;
    // Same text as the canonical URL of the response, and as its path.
    for (const key of [url, '/thing']) assert.equal(await cache.getOrSet(key, () => `value for ${key}`), `value for ${key}`);
    const miss = await request(app.base, '/thing');
    assert.equal(xCache(miss), 'MISS');
    assert.equal(miss.body.toString(), 'the HTTP response');
    await storedKeys(server, 'gos:r:*');
    const hit = await request(app.base, '/thing');
    assert.equal(xCache(hit), 'HIT');
    assert.equal(hit.body.toString(), 'the HTTP response');
    for (const key of [url, '/thing']) assert.equal(await cache.getOrSet(key, () => 'not called'), `value for ${key}`);
  });
});
