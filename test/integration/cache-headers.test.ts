import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import express, { type Express } from 'express';
import { createCache } from '../../src/cache.js';
import type { ResilientCache, ResilientCacheOptions } from '../../src/index.js';
import { Calls, STEADY, listen, redisReady, request, xCache, type RunningApp } from '../helpers/app.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

// X-Cache, Age, ETag and If-None-Match as a client sees them.

let server: RedisServer;
const closers: Array<() => Promise<void>> = [];
const calls = new Calls();
let prefixes = 0;

function routes(web: Express, cache: ResilientCache): void {
  web.get('/plain', (_req, res) => {
    calls.add('plain');
    res.setHeader('Content-Type', 'text/plain');
    res.end('no etag from the handler');
  });
  web.get('/own-etag', (_req, res) => {
    calls.add('own-etag');
    res.set('ETag', '"v42"').send('the handler chose its etag');
  });
  web.get('/never', cache.route(false), (_req, res) => {
    calls.add('never');
    res.send('never cached');
  });
}

/** Entry ages run on this clock, so an Age of a second takes no second. */
const clock = new FakeClock(Date.now());

async function startApp(options: ResilientCacheOptions): Promise<RunningApp> {
  const cache = createCache({ ...STEADY, redis: server.url, prefix: `headers${++prefixes}:`, ttl: '60s', ...options }, clock);
  const web = express();
  web.use(cache);
  routes(web, cache);
  const app = await listen(web);
  closers.push(async () => {
    await app.close();
    await cache.close();
  });
  await redisReady(cache, 5_000, clock);
  return app;
}

before(async () => {
  server = await startRedisServer();
});

after(async () => {
  for (const close of closers.reverse()) await close();
  await server?.stop();
});

describe('X-Cache, Age and ETag', () => {
  let app: RunningApp;
  before(async () => {
    app = await startApp({});
  });

  it('MISS, then HIT with an Age that grows; BYPASS on a route that opts out', async () => {
    const miss = await request(app.base, '/plain');
    assert.equal(xCache(miss), 'MISS');
    assert.equal(miss.headers['age'], undefined, 'a miss is fresh from the handler');
    const hit = await request(app.base, '/plain');
    assert.equal(xCache(hit), 'HIT');
    assert.equal(hit.headers['age'], '0');
    await clock.advance(1100); // Age counts whole seconds since the entry was stored
    const later = await request(app.base, '/plain');
    assert.equal(xCache(later), 'HIT');
    assert.ok(Number(later.headers['age']) >= 1, `Age ${later.headers['age']}`);
    assert.equal(calls.of('plain'), 1);
    const bypass = await request(app.base, '/never');
    assert.equal(xCache(bypass), 'BYPASS');
  });

  it('adds a strong, quoted ETag when the handler set none, and keeps the one it set', async () => {
    const plain = await request(app.base, '/plain');
    assert.match(String(plain.headers['etag']), /^"[^"]+"$/, 'strong (no W/) and quoted');
    const again = await request(app.base, '/plain');
    assert.equal(again.headers['etag'], plain.headers['etag'], 'stable across hits');
    const miss = await request(app.base, '/own-etag');
    assert.equal(miss.headers['etag'], '"v42"');
    const hit = await request(app.base, '/own-etag');
    assert.equal(xCache(hit), 'HIT');
    assert.equal(hit.headers['etag'], '"v42"');
  });

  it('If-None-Match that matches gets 304 without a body; one that does not gets the full response', async () => {
    const full = await request(app.base, '/plain');
    const etag = String(full.headers['etag']);
    for (const inm of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const res = await request(app.base, '/plain', { headers: { 'If-None-Match': inm } });
      assert.equal(res.status, 304, `If-None-Match: ${inm}`);
      assert.equal(res.body.length, 0);
      assert.equal(res.headers['etag'], etag);
      assert.equal(res.headers['content-type'], undefined, '304 repeats only validator and caching headers');
    }
    const other = await request(app.base, '/plain', { headers: { 'If-None-Match': '"something-else"' } });
    assert.equal(other.status, 200);
    assert.equal(other.body.toString(), 'no etag from the handler');
    const own = await request(app.base, '/own-etag', { headers: { 'If-None-Match': '"v42"' } });
    assert.equal(own.status, 304);
    assert.equal(own.body.length, 0);
    assert.equal(calls.of('plain'), 1, 'all from the one stored entry');
  });
});

describe('xCache: false', () => {
  it('removes the X-Cache header and nothing else', async () => {
    const app = await startApp({ xCache: false });
    const before = calls.of('plain');
    const miss = await request(app.base, '/plain');
    const hit = await request(app.base, '/plain');
    const bypass = await request(app.base, '/never');
    for (const res of [miss, hit, bypass]) assert.equal(res.headers['x-cache'], undefined);
    assert.equal(calls.of('plain'), before + 1, 'the second request was still a hit');
    assert.equal(hit.headers['age'], '0');
    assert.ok(hit.body.equals(miss.body));
  });
});
