import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { healthRouter, resilientCache, statsRouter, type ResilientCache, type ResilientCacheOptions } from '../../src/index.js';
import { STEADY, listen, redisReady, request, xCache, type RunningApp } from '../helpers/app.js';
import { freePort } from '../helpers/free-port.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

// Counters per name, the stats router and the health router.

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

interface Figures {
  name: string;
  hits: number;
  misses: number;
  bypasses: number;
  total: number;
  hitRate: number;
}

/** The health and stats routers mounted ahead of `app.use(cache)`, then a few routes. */
async function startApp(options: ResilientCacheOptions): Promise<{ app: RunningApp; cache: ResilientCache }> {
  const cache = resilientCache({ ...STEADY, prefix: `stats${++prefixes}:`, ...options });
  const web = express();
  web.use('/health', healthRouter(cache));
  web.use('/stats', statsRouter(cache));
  web.use(cache);
  web.get('/things/:id', (req, res) => {
    res.send(`thing ${req.params.id}`);
  });
  web.get('/users/:id', cache.route({ name: 'users' }), (req, res) => {
    res.send(`user ${req.params.id}`);
  });
  const app = await listen(web);
  closers.push(async () => {
    await app.close();
    await cache.close();
  });
  return { app, cache };
}

async function json<T>(app: RunningApp, path: string): Promise<{ status: number; body: T }> {
  const res = await request(app.base, path, { headers: { Accept: 'application/json' } });
  return { status: res.status, body: JSON.parse(res.body.toString()) as T };
}

describe('counters per name', () => {
  let app: RunningApp;
  let cache: ResilientCache;
  before(async () => {
    ({ app, cache } = await startApp({ redis: server.url }));
    await redisReady(cache);
  });

  it('counts hits, misses and bypasses under the route name or the path pattern', async () => {
    const sequence = ['/things/1', '/things/1', '/things/2', '/things/2', '/things/2', '/users/1', '/users/1', '/users/2'];
    const seen: string[] = [];
    for (const path of sequence) seen.push(xCache(await request(app.base, path)) ?? '-');
    assert.deepEqual(seen, ['MISS', 'HIT', 'MISS', 'HIT', 'HIT', 'MISS', 'HIT', 'MISS']);
    const bypass = await request(app.base, '/things/1', { headers: { Authorization: 'Bearer someone' } });
    assert.equal(xCache(bypass), 'BYPASS');

    const things = cache.stats().names['/things/:id'];
    assert.ok(things, 'counted under the path pattern');
    assert.deepEqual([things.hits, things.misses, things.bypasses, things.total, things.hitRate], [3, 2, 1, 5, 0.6]);
    const users = cache.stats().names['users'];
    assert.ok(users, 'counted under the route name');
    assert.deepEqual([users.hits, users.misses, users.bypasses, users.total], [1, 2, 0, 3]);
    assert.equal(users.hitRate, Math.round((1 / 3) * 10000) / 10000);
    assert.equal(cache.stats().names['/users/:id'], undefined, 'the name replaces the pattern');
  });

  it('statsRouter: GET / lists every name, GET /:name one, 404 for a name never seen', async () => {
    const all = await json<{ names: Record<string, Figures>; totals: Figures }>(app, '/stats');
    assert.equal(all.status, 200);
    assert.deepEqual(Object.keys(all.body.names).sort(), ['/things/:id', 'users']);
    assert.equal(all.body.names['users']?.misses, 2);
    assert.equal(all.body.totals.hits, 4);
    assert.equal(all.body.totals.misses, 4);

    const users = await json<Figures>(app, '/stats/users');
    assert.equal(users.status, 200);
    assert.equal(users.body.name, 'users');
    assert.equal(users.body.hits, 1);
    const things = await json<Figures>(app, `/stats/${encodeURIComponent('/things/:id')}`);
    assert.equal(things.status, 200);
    assert.equal(things.body.hitRate, 0.6);

    const unknown = await json<{ error: string }>(app, '/stats/nobody');
    assert.equal(unknown.status, 404);
  });
});

describe('healthRouter', () => {
  interface Report {
    status: string;
    tier: string;
  }

  it('200 pass with Redis', async () => {
    const { app, cache } = await startApp({ redis: server.url });
    await redisReady(cache);
    const res = await json<Report>(app, '/health');
    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'pass');
    assert.equal(res.body.tier, 'redis');
  });

  it('200 warn when Redis is configured but unreachable, answered quickly', async () => {
    const { app } = await startApp({ redis: `redis://127.0.0.1:${await freePort()}` });
    const res = await request(app.base, '/health');
    assert.equal(res.status, 200);
    const report = JSON.parse(res.body.toString()) as Report;
    assert.equal(report.status, 'warn');
    assert.equal(report.tier, 'memory');
    assert.ok(res.ms < 1500, `took ${Math.round(res.ms)} ms`);
  });

  it('200 pass without Redis', async () => {
    const { app } = await startApp({});
    const res = await json<Report>(app, '/health');
    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'pass');
    assert.equal(res.body.tier, 'memory-only');
  });
});
