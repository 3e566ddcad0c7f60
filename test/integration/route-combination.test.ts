import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { createCache } from '../../src/cache.js';
import type { ResilientCache } from '../../src/index.js';
import { Calls, STEADY, listen, redisKeys, redisReady, request, storedKeys, xCache, type RunningApp } from '../helpers/app.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

// `app.use(cache)` and `cache.route(...)` on the same path: one lookup, one store, the route's options win.

const PREFIX = 'combo:';

let server: RedisServer;
let cache: ResilientCache;
let app: RunningApp;
const calls = new Calls();
/** Entry freshness runs on this clock, so the route's ttl can run out without waiting for it. */
const clock = new FakeClock(Date.now());

before(async () => {
  server = await startRedisServer();
  cache = createCache({ ...STEADY, redis: server.url, prefix: PREFIX, ttl: '60s' }, clock);
  const web = express();
  web.use(cache);
  web.get('/combo', cache.route({ ttl: '1s', name: 'combo', tags: ['combo-tag'] }), (_req, res) => {
    calls.add('combo');
    res.send(`combo v${calls.of('combo')}`);
  });
  web.get('/now', cache.route(false), (_req, res) => {
    calls.add('now');
    res.send(`now ${calls.of('now')}`);
  });
  app = await listen(web);
  await redisReady(cache, 5_000, clock);
});

after(async () => {
  await app?.close();
  await cache?.close();
  await server?.stop();
});

/** Calls of one Redis command since the last `CONFIG RESETSTAT`, from `INFO commandstats`. */
async function commandCalls(command: string): Promise<number> {
  const info = await server.command('INFO', 'commandstats');
  const match = new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(info);
  return match ? Number(match[1]) : 0;
}

describe('app.use(cache) with cache.route(options) on the same path', () => {
  it('one lookup and one store; the route ttl, name and tags apply', async () => {
    await server.command('CONFIG', 'RESETSTAT');
    const miss = await request(app.base, '/combo');
    assert.equal(xCache(miss), 'MISS');
    assert.equal(miss.body.toString(), 'combo v1');
    assert.equal(calls.of('combo'), 1, 'the handler ran once');
    const [key] = await storedKeys(server, `${PREFIX}r:*`);
    assert.ok(key);
    assert.equal(await commandCalls('get'), 1, 'one lookup in Redis');
    assert.deepEqual(await redisKeys(server, `${PREFIX}r:*`), [key], 'one entry stored');
    const ttl = Number(await server.command('PTTL', key));
    assert.ok(ttl > 0 && ttl <= 1000, `stored with the route's 1s ttl, not the app's 60s (PTTL ${ttl})`);

    const hit = await request(app.base, '/combo');
    assert.equal(xCache(hit), 'HIT');
    assert.equal(hit.body.toString(), 'combo v1');
    assert.equal(calls.of('combo'), 1);
    assert.equal(await commandCalls('get'), 2, 'one lookup per request');

    const figures = cache.stats().names['combo'];
    assert.ok(figures, "counted under the route's name");
    assert.deepEqual([figures.hits, figures.misses, figures.stores], [1, 1, 1]);
    assert.equal(cache.stats().names['/combo'], undefined, 'not also under the path');

    await clock.advance(1100); // the route's ttl runs out while the app's would not
    const expired = await request(app.base, '/combo');
    assert.equal(xCache(expired), 'MISS');
    assert.equal(expired.body.toString(), 'combo v2');

    await storedKeys(server, `${PREFIX}r:*`);
    assert.equal(xCache(await request(app.base, '/combo')), 'HIT');
    assert.ok((await cache.invalidate({ tags: ['combo-tag'] })) >= 1, "the route's tags were stored with the entry");
    assert.equal(xCache(await request(app.base, '/combo')), 'MISS');
  });

  it('cache.route(false) is never cached', async () => {
    const before = (await redisKeys(server, `${PREFIX}r:*`)).length;
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await request(app.base, '/now');
      seen.push(`${xCache(res)} ${res.body.toString()}`);
    }
    assert.deepEqual(seen, ['BYPASS now 1', 'BYPASS now 2', 'BYPASS now 3']);
    assert.equal((await redisKeys(server, `${PREFIX}r:*`)).length, before, 'nothing stored');
    assert.equal(cache.stats().names['/now']?.bypasses, 3);
  });
});
