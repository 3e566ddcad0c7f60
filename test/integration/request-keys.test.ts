import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, describe, it } from 'node:test';
import express, { type Express } from 'express';
import { resilientCache, statsRouter, type ResilientCache, type ResilientCacheOptions } from '../../src/index.js';
import { Calls, request, xCache, type RawResponse, type RunningApp } from '../helpers/app.js';
import { redisApps } from '../helpers/redis-apps.js';

// What a key means: the host and query as the app will read them, names from route patterns, and no request text
// able to reach another route's entry, grow the stats or look up a prototype.

const apps = redisApps('keys');
const start = (options: ResilientCacheOptions, setup: (app: Express, cache: ResilientCache) => void) => apps.start(options, setup);

const text = (res: RawResponse) => res.body.toString();

describe('the host part of the key', () => {
  let app: RunningApp;
  const calls = new Calls();
  before(async () => {
    ({ app } = await start({}, (web, cache) => {
      web.set('trust proxy', 'loopback');
      web.use(cache);
      web.get('/intro', (req, res) => {
        calls.add('/intro');
        res.send(`attacker-written intro for ${req.hostname}`);
      });
      web.get('/docs/intro', (req, res) => {
        calls.add('/docs/intro');
        res.send(`docs intro for ${req.hostname}`);
      });
      web.get('/whoami', (req, res) => void res.send(`page for ${req.headers.host} via ${String(req.headers['x-forwarded-host'] ?? '-')}`));
    }));
  });

  for (const [header, value] of [['host', 'example.test/docs'], ['host', 'example.test\\docs'], ['x-forwarded-host', 'example.test/docs']] as const) {
    it(`${header}: ${value} is never keyed, so no other path's entry can be filled through it`, async () => {
      const attack = await request(app.base, '/intro', { headers: { host: 'example.test', [header]: value } });
      assert.equal(xCache(attack), 'BYPASS');
      const victim = await request(app.base, '/docs/intro', { headers: { host: 'example.test' } });
      assert.match(text(victim), /^docs intro/);
    });
  }

  it('hosts that differ in case or port are kept apart, as the app sees them', async () => {
    const seen = [];
    for (const host of ['EXAMPLE.TEST', 'example.test', 'a.test:8080', 'a.test:9090', 'a.test']) {
      const res = await request(app.base, '/whoami', { headers: { host } });
      seen.push(text(res));
    }
    assert.deepEqual(seen, ['EXAMPLE.TEST', 'example.test', 'a.test:8080', 'a.test:9090', 'a.test'].map((h) => `page for ${h} via -`));
    const again = await request(app.base, '/whoami', { headers: { host: 'a.test:8080' } });
    assert.equal(xCache(again), 'HIT');
    assert.equal(text(again), 'page for a.test:8080 via -');
  });

  it('X-Forwarded-Host names the host under trust proxy', async () => {
    const forwarded = await request(app.base, '/whoami', { headers: { host: 'inner.test', 'x-forwarded-host': 'outer.test' } });
    assert.equal(xCache(forwarded), 'MISS');
    const direct = await request(app.base, '/whoami', { headers: { host: 'outer.test' } });
    assert.equal(xCache(direct), 'HIT', 'keyed by the forwarded host');
  });

  it('without trust proxy, X-Forwarded-Host is not part of the key and cannot steer it', async () => {
    const { app: plain } = await start({}, (web, cache) => {
      web.use(cache);
      web.get('/page', (req, res) => void res.send(`page for ${req.hostname}`));
    });
    assert.equal(xCache(await request(plain.base, '/page', { headers: { host: 'victim.test', 'x-forwarded-host': 'evil.test/x' } })), 'MISS');
    const victim = await request(plain.base, '/page', { headers: { host: 'victim.test' } });
    assert.equal(xCache(victim), 'HIT');
    assert.equal(text(victim), 'page for victim.test');
  });
});

describe('the query part of the key', () => {
  let app: RunningApp;
  before(async () => {
    ({ app } = await start({}, (web, cache) => {
      web.use(cache);
      web.get('/q', (req, res) => void res.json(req.query));
    }));
  });

  it('parameters are ordered by their decoded names, as the app reads them', async () => {
    const pairs = [
      ['/q?lang=en&%6cang=evil', '/q?%6cang=evil&lang=en'],
      ['/q?a+b=1&a%20b=2', '/q?a%20b=2&a+b=1'],
    ];
    for (const [first, second] of pairs) {
      const one = await request(app.base, first as string);
      const two = await request(app.base, second as string);
      assert.notDeepEqual(JSON.parse(text(one)), JSON.parse(text(two)), `the app reads ${first} and ${second} differently`);
      assert.equal(xCache(two), 'MISS', `${second} must not share ${first}'s entry`);
    }
  });

  it('requests the app parses alike share an entry', async () => {
    assert.equal(xCache(await request(app.base, '/q?y=2&x=1&x=3')), 'MISS');
    for (const same of ['/q?x=1&y=2&x=3', '/q?x=1&x=3&y=2', '/q?%78=1&y=2&x=%33']) {
      assert.equal(xCache(await request(app.base, same)), 'HIT', same);
    }
  });
});

describe('counter names', () => {
  it('come from the mount and route patterns, bounded, with no request text in /stats', async () => {
    const { app, cache } = await start({}, (web, cache) => {
      web.use('/stats', statsRouter(cache));
      web.use(cache);
      const tenant = express.Router({ mergeParams: true });
      tenant.get('/items', (req, res) => void res.send(`items of ${String((req.params as Record<string, string>)['tenant'])}`));
      web.use('/t/:tenant', tenant);
    });
    const tenants = Array.from({ length: 1000 }, () => randomBytes(6).toString('hex'));
    for (let i = 0; i < tenants.length; i += 50) {
      await Promise.all(tenants.slice(i, i + 50).map((t) => request(app.base, `/t/${t}/items`)));
    }
    const stats = await request(app.base, '/stats', { headers: { accept: 'application/json' } });
    const names = Object.keys(JSON.parse(text(stats)).names);
    assert.deepEqual(names, ['/t/:tenant/items']);
    for (const t of tenants.slice(0, 50)) assert.ok(!text(stats).includes(t), 'no tenant id in /stats');
    assert.ok((await cache.invalidate({ names: ['/t/:tenant/items'] })) >= 1000, 'the pattern invalidates the entries');
    assert.equal(xCache(await request(app.base, `/t/${tenants[0]}/items`)), 'MISS');
  });

  it('past maxNames, counts go to one overflow name', async () => {
    const { cache } = await start({ maxNames: 20 }, () => undefined);
    for (let i = 0; i < 100; i++) await cache.getOrSet(`k${i}`, () => i, { name: `name-${i}` });
    const names = Object.keys(cache.stats().names);
    assert.ok(names.length <= 21, `${names.length} names`);
    assert.ok(names.includes('(other)'));
    assert.equal(Object.values(cache.stats().names).reduce((sum, n) => sum + n.misses, 0), 100, 'nothing lost');
  });

  it('/stats/<prototype name> is 404, and a route named __proto__ is counted like any other', async () => {
    const { app } = await start({}, (web, cache) => {
      web.use('/stats', statsRouter(cache));
      web.use(cache);
      web.get('/proto', cache.route({ name: '__proto__' }), (_req, res) => void res.send('proto'));
    });
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf']) {
      assert.equal((await request(app.base, `/stats/${name}`)).status, 404, name);
    }
    await request(app.base, '/proto');
    const all = JSON.parse(text(await request(app.base, '/stats', { headers: { accept: 'application/json' } })));
    assert.equal(all.names.__proto__?.misses, 1);
    const one = await request(app.base, '/stats/__proto__');
    assert.equal(one.status, 200);
    assert.equal(JSON.parse(text(one)).misses, 1);
  });
});

describe('invalidate({ routeKeys })', () => {
  it("removes an entry stored under a route's own key", async () => {
    const calls = new Calls();
    const { app, cache } = await start({}, (web, cache) => {
      web.use(cache);
      web.get('/users/:id', cache.route({ key: (req) => `user:${String(req.params.id)}` }), (req, res) => {
        calls.add(String(req.params.id));
        res.send(`user ${String(req.params.id)} v${calls.of(String(req.params.id))}`);
      });
    });
    assert.deepEqual([xCache(await request(app.base, '/users/1')), xCache(await request(app.base, '/users/1'))], ['MISS', 'HIT']);
    assert.equal(await cache.invalidate({ routeKeys: ['user:1'] }), 1);
    const after = await request(app.base, '/users/1');
    assert.equal(xCache(after), 'MISS');
    assert.equal(text(after), 'user 1 v2');
  });

  it('a field it does not know is a mistake, named with its fix', async () => {
    const cache = resilientCache();
    apps.onClose(() => cache.close());
    await assert.rejects(cache.invalidate({ routeKey: ['user:1'] } as never), /`invalidate routeKey` is not a field; did you mean `routeKeys`\?/);
  });
});
