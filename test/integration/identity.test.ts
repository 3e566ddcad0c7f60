import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import express, { type Express } from 'express';
import session from 'express-session';
import methodOverride from 'method-override';
import { resilientCache, type ResilientCache, type ResilientCacheOptions } from '../../src/index.js';
import { Calls, listen, request, xCache, type RawResponse, type RunningApp } from '../helpers/app.js';

// Who a request is: a request that carries a session cookie, a body, or a rewritten method is neither answered from
// the shared cache nor stored in it, unless the app says the cookies do not matter.

declare module 'express-session' {
  interface SessionData {
    user: string;
  }
}

const closers: Array<() => Promise<void>> = [];
after(async () => {
  for (const close of closers.reverse()) await close();
});

async function start(options: ResilientCacheOptions, setup: (app: Express, cache: ResilientCache) => void): Promise<RunningApp> {
  const cache = resilientCache(options);
  const app = express();
  setup(app, cache);
  const running = await listen(app);
  closers.push(async () => {
    await running.close();
    await cache.close();
  });
  return running;
}

const text = (res: RawResponse) => res.body.toString();

describe('a cookie-based login in front of app.use(cache)', () => {
  let app: RunningApp;
  const calls = new Calls();
  /** Logs `user` in and returns the session cookie to send. */
  const login = async (user: string) => {
    const res = await request(app.base, '/login', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `user=${user}` });
    assert.equal(res.status, 200);
    const cookie = ([] as string[]).concat(res.headers['set-cookie'] ?? [])[0];
    assert.ok(cookie, 'the login set a session cookie');
    return cookie.split(';')[0] as string;
  };
  const as = (cookie: string | undefined) => (cookie ? { headers: { cookie } } : {});

  it('starts', async () => {
    app = await start({}, (web, cache) => {
      web.use(session({ secret: 'test secret', resave: false, saveUninitialized: false }));
      web.use(cache);
      web.post('/login', express.urlencoded({ extended: false }), (req, res) => {
        req.session.user = String(req.body.user);
        res.send('signed in');
      });
      web.get(['/me', '/basket'], (req, res) => {
        calls.add(req.path);
        res.send(`${req.path} of ${req.session.user ?? 'anonymous'}`);
      });
      web.get('/account/:file', (req, res) => {
        res.send(req.session.user ? `account of ${req.session.user}: ${req.session.user}@example.test, key sk_live_${req.session.user}` : 'please sign in');
      });
      web.get('/pricing', cache.route({ ignoreCookies: true }), (_req, res) => {
        calls.add('/pricing');
        res.send('the same prices for everyone');
      });
      web.get('/mine', cache.route({ key: (req) => `mine:${req.session.user ?? ''}` }), (req, res) => {
        calls.add('/mine');
        res.send(`mine of ${req.session.user ?? 'anonymous'}`);
      });
    });
  });

  it("a signed-in user's page never reaches anonymous visitors or other users", async () => {
    const alice = await login('alice');
    const bob = await login('bob');
    const first = await request(app.base, '/me', as(alice));
    assert.equal(text(first), '/me of alice');
    assert.equal(xCache(first), 'BYPASS');
    assert.equal(text(await request(app.base, '/me')), '/me of anonymous');
    assert.equal(text(await request(app.base, '/me', as(bob))), '/me of bob');
    assert.equal(text(await request(app.base, '/me', as(alice))), '/me of alice');
  });

  it("the anonymous page is cached, and signed-in users never get it", async () => {
    const alice = await login('alice');
    assert.deepEqual([xCache(await request(app.base, '/basket')), xCache(await request(app.base, '/basket'))], ['MISS', 'HIT']);
    const signedIn = await request(app.base, '/basket', as(alice));
    assert.equal(text(signedIn), '/basket of alice');
    assert.equal(xCache(signedIn), 'BYPASS');
  });

  it('web cache deception: a victim lured to /account/x.css leaves nothing for an anonymous attacker', async () => {
    const victim = await login('victim');
    assert.match(text(await request(app.base, '/account/x.css', as(victim))), /victim@example\.test/);
    const attacker = await request(app.base, '/account/x.css');
    assert.equal(text(attacker), 'please sign in');
    assert.doesNotMatch(text(attacker), /victim|sk_live/);
  });

  it('a route declared the same for everyone is served from the cache whatever the cookies', async () => {
    const alice = await login('alice');
    const labels = [];
    for (const who of [undefined, alice, await login('bob')]) labels.push(xCache(await request(app.base, '/pricing', as(who))));
    assert.deepEqual(labels, ['MISS', 'HIT', 'HIT']);
    assert.equal(calls.of('/pricing'), 1);
  });

  it("a route with its own key caches per user, and users never share", async () => {
    const alice = await login('alice');
    const bob = await login('bob');
    const seen = [];
    for (const who of [alice, alice, bob, bob]) {
      const res = await request(app.base, '/mine', as(who));
      seen.push(`${text(res)} ${xCache(res)}`);
    }
    assert.deepEqual(seen, ['mine of alice MISS', 'mine of alice HIT', 'mine of bob MISS', 'mine of bob HIT']);
  });
});

describe('cookies that never personalise a page', () => {
  it('requests whose cookies are all in ignoreCookies are cached as if they carried none', async () => {
    const calls = new Calls();
    const app = await start({ ignoreCookies: ['_ga', /^_utm/, 'consent'] }, (web, cache) => {
      web.use(cache);
      web.get('/news', (_req, res) => {
        calls.add('news');
        res.send('news');
      });
    });
    const labels = [];
    for (const cookie of ['_ga=GA1.1.123', 'consent=yes; _utm_source=mail', '_ga=GA1.1.456; session=abc']) {
      labels.push(xCache(await request(app.base, '/news', { headers: { cookie } })));
    }
    assert.deepEqual(labels, ['MISS', 'HIT', 'BYPASS'], 'a cookie not on the list still bypasses');
    assert.equal(xCache(await request(app.base, '/news')), 'HIT');
    assert.equal(calls.of('news'), 2);
  });
});

describe('a GET with a body', () => {
  let app: RunningApp;
  const calls = new Calls();

  it('starts', async () => {
    app = await start({}, (web, cache) => {
      web.use(express.json());
      web.use(express.urlencoded({ extended: false }));
      web.use(cache);
      web.get('/search/:id', async (req, res) => {
        calls.add(String(req.params.id));
        await sleep(Number(req.query['wait'] ?? 0));
        const q = (req.body as { q?: unknown } | undefined)?.q;
        res.send(`results for ${String(q ?? 'everything')}`);
      });
    });
  });

  const bodies: Array<[string, { headers: Record<string, string>; body: string; chunked?: boolean }]> = [
    ['JSON', { headers: { 'content-type': 'application/json' }, body: '{"q":"evil"}' }],
    ['urlencoded', { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'q=evil' }],
    ['chunked JSON', { headers: { 'content-type': 'application/json' }, body: '{"q":"evil"}', chunked: true }],
  ];
  for (const [kind, options] of bodies) {
    it(`with a ${kind} body is bypassed, and later body-less requests never get its answer`, async () => {
      const id = kind.replace(/\W/g, '-');
      const attacker = await request(app.base, `/search/${id}`, options);
      assert.equal(text(attacker), 'results for evil', 'the app read the body');
      assert.equal(xCache(attacker), 'BYPASS');
      const clean = await request(app.base, `/search/${id}`);
      assert.equal(text(clean), 'results for everything');
      assert.equal(xCache(clean), 'MISS');
    });
  }

  it('concurrent clean requests never join a fill led by a request with a body', async () => {
    const attacker = request(app.base, '/search/concurrent?wait=150', bodies[0]?.[1]);
    await sleep(30);
    const clean = await Promise.all(Array.from({ length: 5 }, () => request(app.base, '/search/concurrent?wait=150')));
    assert.equal(text(await attacker), 'results for evil');
    for (const res of clean) assert.equal(text(res), 'results for everything');
  });
});

describe('a method rewritten before the cache', () => {
  it("method-override's _method form field and header never store a POST as a GET", async () => {
    const calls = new Calls();
    const app = await start({}, (web, cache) => {
      web.use(express.urlencoded({ extended: false }));
      web.use(methodOverride((req) => {
        const body = req.body as Record<string, unknown> | undefined;
        if (body && typeof body === 'object' && '_method' in body) {
          const method = body['_method'];
          delete body['_method'];
          return String(method);
        }
        return undefined as unknown as string;
      }));
      web.use(methodOverride('X-HTTP-Method-Override'));
      web.use(cache);
      web.get('/mo/:id', (req, res) => {
        calls.add(String(req.params.id));
        res.send(`note ${String((req.body as { note?: unknown } | undefined)?.note ?? 'none')}`);
      });
    });
    const form = await request(app.base, '/mo/1', {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '_method=GET&note=evil',
    });
    assert.equal(text(form), 'note evil', 'method-override turned the POST into a GET');
    assert.equal(text(await request(app.base, '/mo/1')), 'note none');
    const header = await request(app.base, '/mo/2', { method: 'POST', headers: { 'x-http-method-override': 'GET' } });
    assert.equal(text(header), 'note none');
    assert.notEqual(xCache(header), 'MISS', 'a rewritten POST is not stored');
    assert.equal(xCache(await request(app.base, '/mo/2')), 'MISS', 'the real GET fills the entry itself');
  });
});
