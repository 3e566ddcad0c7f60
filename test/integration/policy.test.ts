import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import express, { type Express } from 'express';
import type { ResilientCache, ResilientCacheOptions } from '../../src/index.js';
import { Calls, headerLines, redisKeys, request, xCache, type RunningApp } from '../helpers/app.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { redisApps } from '../helpers/redis-apps.js';

// Safe by default, as a shared cache must be.

const apps = redisApps('policy');
/** Freshness runs on this clock, so entries expire without waiting for them; it starts at the real time, like `Date`. */
const clock = new FakeClock(Date.now());

/** A Redis-backed cache under a prefix of its own, mounted with `app.use(cache)` in front of `routes`. */
function startApp(options: ResilientCacheOptions, routes: (app: Express, cache: ResilientCache) => void) {
  return apps.start(options, (web, cache) => {
    web.use(cache);
    routes(web, cache);
  }, clock);
}

/** Requests `path` `times` times and returns every X-Cache label and status. */
async function labels(app: RunningApp, path: string, times: number, headers?: Record<string, string>): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < times; i++) {
    const res = await request(app.base, path, { headers });
    out.push(`${res.status} ${xCache(res) ?? '-'}`);
  }
  return out;
}

describe('what is stored', () => {
  const calls = new Calls();
  let app: RunningApp;
  let prefix: string;

  before(async () => {
    ({ app, prefix } = await startApp({ ttl: '60s' }, (web) => {
      web.all('/any', (req, res) => {
        calls.add(`any ${req.method}`);
        res.send(`answer to ${req.method}`);
      });
      web.get('/status/:code', (req, res) => {
        calls.add(`status ${req.params.code}`);
        res.status(Number(req.params.code)).send(`status ${req.params.code}`);
      });
    }));
  });

  it('only GET is stored: POST, PUT and DELETE run every time and leave nothing for GET', async () => {
    for (const method of ['POST', 'PUT', 'DELETE']) {
      for (let i = 0; i < 2; i++) {
        const res = await request(app.base, '/any', { method });
        assert.equal(res.body.toString(), `answer to ${method}`);
      }
      assert.equal(calls.of(`any ${method}`), 2, `${method} ran both times`);
    }
    assert.deepEqual(await redisKeys(apps.server, `${prefix}r:*`), [], 'nothing stored');
    assert.deepEqual(await labels(app, '/any', 2), ['200 MISS', '200 HIT']);
    assert.equal(calls.of('any GET'), 1);
  });

  it('only 200 by default: 404, 201 and 410 run the handler every time', async () => {
    for (const code of ['404', '201', '410']) {
      assert.deepEqual(await labels(app, `/status/${code}`, 2), [`${code} MISS`, `${code} MISS`]);
      assert.equal(calls.of(`status ${code}`), 2, `status ${code} was not stored`);
    }
    assert.deepEqual(await labels(app, '/status/200', 2), ['200 MISS', '200 HIT']);
  });

  it('statuses: [200, 404] stores a 404 too', async () => {
    const calls404 = new Calls();
    const { app: app404 } = await startApp({ statuses: [200, 404] }, (web) => {
      web.get('/missing', (_req, res) => {
        calls404.add('missing');
        res.status(404).json({ error: 'not found' });
      });
    });
    assert.deepEqual(await labels(app404, '/missing', 3), ['404 MISS', '404 HIT', '404 HIT']);
    assert.equal(calls404.of('missing'), 1);
    const hit = await request(app404.base, '/missing');
    assert.deepEqual(JSON.parse(hit.body.toString()), { error: 'not found' });
  });
});

/** Never stored, whatever else the response says. */
const NEVER_STORED = ['no-store', 'private'];
/** Stored, but never used without asking the route again (no-cache), or stale as soon as it arrives (max-age=0). */
const REVALIDATED = ['no-cache', 'public, no-cache="set-cookie"', 'max-age=0'];

describe('never stored', () => {
  const calls = new Calls();
  let app: RunningApp;
  let prefix: string;
  let failNext = true;

  before(async () => {
    ({ app, prefix } = await startApp({ ttl: '60s' }, (web) => {
      web.get('/cookie', (_req, res) => {
        calls.add('cookie');
        res.cookie('session', 'abc123').send('has a cookie');
      });
      for (const directive of [...NEVER_STORED, ...REVALIDATED]) {
        web.get(`/cc/${encodeURIComponent(directive)}`, (_req, res) => {
          calls.add(`cc ${directive}`);
          res.set('Cache-Control', directive).send(`cache-control ${directive}`);
        });
      }
      web.get('/vary-star', (_req, res) => {
        calls.add('vary-star');
        res.set('Vary', '*').send('varies on everything');
      });
      web.get('/throws', () => {
        calls.add('throws');
        throw new Error('handler threw');
      });
      web.get('/next-error', (_req, _res, next) => {
        calls.add('next-error');
        next(new Error('handler passed an error on'));
      });
      web.get('/five-hundred', (_req, res) => {
        calls.add('five-hundred');
        res.status(500).send('server error');
      });
      web.get('/flaky', (_req, res, next) => {
        calls.add('flaky');
        if (failNext) {
          failNext = false;
          return next(new Error('first call fails'));
        }
        res.send('flaky recovered');
      });
      // Quiet error handler: Express's default one logs stacks to stderr.
      web.use((_err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
        res.status(500).send('handled error');
      });
    }));
  });

  it('a response with Set-Cookie', async () => {
    const first = await request(app.base, '/cookie');
    const second = await request(app.base, '/cookie');
    assert.equal(calls.of('cookie'), 2);
    assert.equal(xCache(second), 'MISS');
    for (const res of [first, second]) assert.match(headerLines(res, 'Set-Cookie')[0] ?? '', /^session=abc123/);
  });

  for (const directive of NEVER_STORED) {
    it(`Cache-Control: ${directive}`, async () => {
      const path = `/cc/${encodeURIComponent(directive)}`;
      assert.deepEqual(await labels(app, path, 2), ['200 MISS', '200 MISS']);
      assert.equal(calls.of(`cc ${directive}`), 2);
    });
  }

  for (const directive of REVALIDATED) {
    it(`Cache-Control: ${directive} is stored only to be revalidated: the route runs on every request`, async () => {
      const path = `/cc/${encodeURIComponent(directive)}`;
      // Express's ETag makes it revalidatable; the route's 304 serves the stored body (RFC 9111 §4.3).
      assert.deepEqual(await labels(app, path, 3), ['200 MISS', '200 REVALIDATED', '200 REVALIDATED']);
      assert.equal(calls.of(`cc ${directive}`), 3);
    });
  }

  it('Vary: *', async () => {
    assert.deepEqual(await labels(app, '/vary-star', 2), ['200 MISS', '200 MISS']);
    assert.equal(calls.of('vary-star'), 2);
  });

  it('a handler that throws, calls next(err) or answers 500', async () => {
    for (const name of ['throws', 'next-error', 'five-hundred']) {
      const statuses = (await labels(app, `/${name}`, 2)).map((l) => l.split(' ')[0]);
      assert.deepEqual(statuses, ['500', '500']);
      assert.equal(calls.of(name), 2, `${name} ran both times`);
    }
    // A failure is not stored; the first success after it is, and then served.
    const flaky = await labels(app, '/flaky', 3);
    assert.deepEqual(flaky.map((l) => l.split(' ')[0]), ['500', '200', '200']);
    assert.equal(flaky[2], '200 HIT');
    assert.equal(calls.of('flaky'), 2);
    assert.equal((await request(app.base, '/flaky')).body.toString(), 'flaky recovered');
  });

  it('leaves nothing but the successful entry and those kept to be revalidated in Redis', async () => {
    assert.equal((await redisKeys(apps.server, `${prefix}r:*`)).length, 1 + REVALIDATED.length);
  });
});

describe("the handler's own freshness shortens the TTL, never lengthens it", () => {
  it('max-age, s-maxage and Expires expire before a 60s ttl; max-age=3600 expires with a 1s ttl', async () => {
    const calls = new Calls();
    const routes = (web: Express) => {
      web.get('/max-age', (_req, res) => {
        calls.add('max-age');
        res.set('Cache-Control', 'public, max-age=1').send('max-age=1');
      });
      web.get('/s-maxage', (_req, res) => {
        calls.add('s-maxage');
        // s-maxage is the shared cache's own lifetime and wins over max-age.
        res.set('Cache-Control', 'public, max-age=600, s-maxage=1').send('s-maxage=1');
      });
      web.get('/expires', (_req, res) => {
        calls.add('expires');
        res.set('Expires', new Date(clock.now() + 1500).toUTCString()).send('expires soon');
      });
      web.get('/plain', (_req, res) => {
        calls.add('plain');
        res.send('configured ttl only');
      });
      web.get('/long', (_req, res) => {
        calls.add('long');
        res.set('Cache-Control', 'public, max-age=3600').send('asks for an hour');
      });
    };
    const { app: longTtl } = await startApp({ ttl: '60s' }, routes);
    const { app: shortTtl } = await startApp({ ttl: '1s' }, routes);
    const paths = ['/max-age', '/s-maxage', '/expires', '/plain'];
    for (const path of paths) assert.deepEqual(await labels(longTtl, path, 2), ['200 MISS', '200 HIT'], path);
    assert.deepEqual(await labels(shortTtl, '/long', 2), ['200 MISS', '200 HIT']);

    await clock.advance(2100); // entries expire

    for (const path of ['/max-age', '/s-maxage', '/expires']) {
      // Expired: the route is asked again, and confirms the stored body with a 304 (Express's ETag).
      assert.deepEqual(await labels(longTtl, path, 1), ['200 REVALIDATED'], `${path} expired by its own freshness`);
      assert.equal(calls.of(path.slice(1)), 2);
    }
    assert.deepEqual(await labels(longTtl, '/plain', 1), ['200 HIT'], 'without its own freshness the 60s ttl holds');
    assert.deepEqual(await labels(shortTtl, '/long', 1), ['200 REVALIDATED'], 'max-age=3600 did not lengthen a 1s ttl');
    assert.equal(calls.of('long'), 2);
  });
});

describe('requests with Authorization', () => {
  const calls = new Calls();
  let app: RunningApp;

  before(async () => {
    ({ app } = await startApp({ ttl: '60s' }, (web, cache) => {
      web.get('/page', (req, res) => {
        calls.add('page');
        res.send(`page for ${req.headers.authorization ?? 'anonymous'}`);
      });
      web.get('/profile', cache.route({ key: (req) => `profile\n${req.headers.authorization ?? ''}` }), (req, res) => {
        calls.add(`profile ${req.headers.authorization}`);
        res.send(`profile of ${req.headers.authorization ?? 'anonymous'}`);
      });
    }));
  });

  it('are neither served from nor stored in the cache: X-Cache BYPASS', async () => {
    assert.deepEqual(await labels(app, '/page', 2), ['200 MISS', '200 HIT']);
    assert.equal(calls.of('page'), 1);
    for (const user of ['Bearer alice', 'Bearer alice', 'Basic Ym9iOnNlY3JldA==']) {
      const res = await request(app.base, '/page', { headers: { Authorization: user } });
      assert.equal(xCache(res), 'BYPASS');
      assert.equal(res.body.toString(), `page for ${user}`, 'not served the anonymous entry');
    }
    assert.equal(calls.of('page'), 4, 'every authorised request ran the handler');
    const anonymous = await request(app.base, '/page');
    assert.equal(xCache(anonymous), 'HIT');
    assert.equal(anonymous.body.toString(), 'page for anonymous', 'no authorised response was stored');
  });

  it('are cached on a route whose own key includes the user, and never cross users', async () => {
    const alice = { Authorization: 'Bearer alice' };
    const bob = { Authorization: 'Bearer bob' };
    const sequence = [alice, bob, alice, bob, alice];
    const seen: string[] = [];
    for (const headers of sequence) {
      const res = await request(app.base, '/profile', { headers });
      seen.push(`${xCache(res)} ${res.body.toString()}`);
    }
    assert.deepEqual(seen, [
      'MISS profile of Bearer alice',
      'MISS profile of Bearer bob',
      'HIT profile of Bearer alice',
      'HIT profile of Bearer bob',
      'HIT profile of Bearer alice',
    ]);
    assert.equal(calls.of('profile Bearer alice'), 1);
    assert.equal(calls.of('profile Bearer bob'), 1);
    const anonymous = await request(app.base, '/profile');
    assert.equal(anonymous.body.toString(), 'profile of anonymous', 'no user response reached a request without credentials');
  });
});
