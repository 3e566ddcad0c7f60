import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { before, describe, it } from 'node:test';
import express, { type Express } from 'express';
import type { ResilientCache, ResilientCacheOptions } from '../../src/index.js';
import { Calls, request, waitFor, xCache, type RawResponse, type RunningApp } from '../helpers/app.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { redisApps } from '../helpers/redis-apps.js';

// RFC 9111 as an app sees it: unsafe methods invalidate, stale entries are revalidated with the route, ranges and
// conditional requests are answered from entries, Age and Date tell the truth, Cache-Status says what happened.

const apps = redisApps('semantics');
async function start(options: ResilientCacheOptions, setup: (app: Express, cache: ResilientCache) => void, clock = new FakeClock(Date.now())) {
  return { ...(await apps.start(options, setup, clock)), clock };
}

const text = (res: RawResponse) => res.body.toString();

describe('unsafe methods invalidate', () => {
  const FILES = new Map([['1', 'one'], ['2', 'two']]);
  const routes = (web: Express) => {
    web.get('/files/:id', (req, res) => void res.send(`file ${req.params.id}: ${FILES.get(String(req.params.id))}`));
    // The target URI is the path and query: what to write comes in headers, so the POST's target is the GET's.
    web.post('/files/:id', (req, res) => {
      FILES.set(String(req.params.id), String(req.headers['x-to']));
      res.status(Number(req.headers['x-status'] ?? 200)).send('saved');
    });
    web.put('/files/:id', (req, res) => {
      FILES.set(String(req.query['other']), String(req.query['to']));
      res.location(`/files/${String(req.query['other'])}`).status(201).send('created');
    });
    web.delete('/files/:id', (req, res) => {
      FILES.set(String(req.params.id), 'deleted');
      res.sendStatus(204);
    });
  };
  let one: RunningApp;
  let two: RunningApp;

  before(async () => {
    // Two instances sharing one Redis (one prefix), as behind a load balancer.
    const prefix = 'unsafe-shared:';
    const setup = (web: Express, cache: ResilientCache) => {
      web.use(cache);
      routes(web);
    };
    ({ app: one } = await start({ prefix }, setup));
    ({ app: two } = await start({ prefix }, setup));
  });

  // Instances behind one load balancer see one Host.
  const host = { host: 'files.test' };
  const get = async (app: RunningApp, path: string) => {
    const res = await request(app.base, path, { headers: host });
    return `${xCache(res)} ${text(res)}`;
  };

  it('a POST answered 2xx through one instance removes the entry for every instance', async () => {
    assert.equal(await get(one, '/files/1'), 'MISS file 1: one');
    assert.equal(await get(two, '/files/1'), 'HIT file 1: one');
    assert.equal((await request(two.base, '/files/1', { method: 'POST', headers: { ...host, 'x-to': 'uno' } })).status, 200);
    assert.equal(await get(one, '/files/1'), 'MISS file 1: uno');
  });

  it("a PUT's same-origin Location is invalidated too; a DELETE's target", async () => {
    assert.equal(await get(one, '/files/2'), 'MISS file 2: two');
    assert.equal((await request(one.base, '/files/9?other=2&to=dos', { method: 'PUT', headers: host })).status, 201);
    assert.equal(await get(two, '/files/2'), 'MISS file 2: dos');
    assert.equal((await request(two.base, '/files/2', { method: 'DELETE', headers: host })).status, 204);
    assert.equal(await get(one, '/files/2'), 'MISS file 2: deleted');
  });

  it('an error answer invalidates nothing', async () => {
    await get(one, '/files/1');
    assert.equal((await request(one.base, '/files/1', { method: 'POST', headers: { ...host, 'x-to': 'nope', 'x-status': '500' } })).status, 500);
    assert.equal(await get(two, '/files/1'), 'HIT file 1: uno');
  });

  it('invalidateOnUnsafe: false leaves entries alone', async () => {
    const { app } = await start({ invalidateOnUnsafe: false }, (web, cache) => {
      web.use(cache);
      routes(web);
    });
    assert.equal(await get(app, '/files/1'), 'MISS file 1: nope');
    await request(app.base, '/files/1', { method: 'POST', headers: { ...host, 'x-to': 'changed' } });
    assert.equal(await get(app, '/files/1'), 'HIT file 1: nope');
  });
});

describe('revalidation', () => {
  it('a stale entry is revalidated: the route gets its validators, answers 304, and the stored body is served', async () => {
    const calls = new Calls();
    const seen: string[] = [];
    const { app, clock, cache } = await start({}, (web, cache) => {
      web.use(cache);
      web.get('/doc', (req, res) => {
        calls.add('doc');
        seen.push(String(req.headers['if-none-match'] ?? '-'));
        // res.send answers 304 itself when the request is fresh for this ETag.
        res.set('Cache-Control', 'max-age=1').set('X-Version', String(calls.of('doc'))).send('the document');
      });
    });
    assert.equal(xCache(await request(app.base, '/doc')), 'MISS');
    assert.equal(xCache(await request(app.base, '/doc')), 'HIT');
    await waitFor(() => cache.stats().totals.stores === 1, 'the entry to be stored');
    await clock.advance(1500);
    const revalidated = await request(app.base, '/doc');
    assert.equal(xCache(revalidated), 'REVALIDATED');
    assert.equal(text(revalidated), 'the document');
    assert.equal(revalidated.status, 200);
    assert.equal(revalidated.headers['x-version'], '2', "the 304's headers update the entry");
    assert.deepEqual(seen.map((etag) => etag !== '-'), [false, true]);
    assert.equal(xCache(await request(app.base, '/doc')), 'HIT', 'fresh again');
    assert.equal(calls.of('doc'), 2);
  });

  for (const [name, path] of [['express.static', '/static/hundred.txt'], ['res.sendFile', '/sendfile']] as const) {
    it(`${name} answers the revalidation with 304`, async () => {
      const files = fileURLToPath(new URL('../helpers/static/', import.meta.url));
      const calls = new Calls();
      const { app, clock, cache } = await start({ ttl: '1s' }, (web, cache) => {
        web.use(cache);
        web.use('/static', (_req, _res, next) => void (calls.add('static'), next()), express.static(files));
        web.get('/sendfile', (_req, res) => void (calls.add('sendfile'), res.sendFile('hundred.txt', { root: files })));
      });
      assert.equal(xCache(await request(app.base, path)), 'MISS');
      // Stored after the response went out: wait for it, or the next request may join the fill still storing it.
      await waitFor(() => cache.stats().totals.stores === 1, 'the entry to be stored');
      await clock.advance(1500);
      const again = await request(app.base, path);
      assert.equal(xCache(again), 'REVALIDATED');
      assert.equal(again.body.length, 1000);
    });
  }

  it('must-revalidate: a stale entry is never served in place of an error', async () => {
    let fail = false;
    const { app, clock, cache } = await start({ staleIfError: '1h', statuses: [200] }, (web, cache) => {
      web.use(cache);
      web.get('/strict', (_req, res) => {
        if (fail) return void res.status(503).send('down');
        res.set('Cache-Control', 'max-age=1, must-revalidate').send('strict');
      });
      web.get('/lenient', (_req, res) => {
        if (fail) return void res.status(503).send('down');
        res.set('Cache-Control', 'max-age=1').send('lenient');
      });
    });
    await request(app.base, '/strict');
    await request(app.base, '/lenient');
    await waitFor(() => cache.stats().totals.stores === 2, 'both entries to be stored');
    await clock.advance(1500);
    fail = true;
    assert.equal((await request(app.base, '/strict')).status, 503);
    const lenient = await request(app.base, '/lenient');
    assert.equal(`${lenient.status} ${xCache(lenient)} ${text(lenient)}`, '200 STALE lenient');
  });

  it('a client conditional request on a hit gets 304 (weak comparison, as Express compares)', async () => {
    const { app } = await start({}, (web, cache) => {
      web.use(cache);
      web.get('/etagged', (_req, res) => void res.set('ETag', '"v1"').send('body'));
    });
    await request(app.base, '/etagged');
    const notModified = await request(app.base, '/etagged', { headers: { 'if-none-match': 'W/"v1"' } });
    assert.equal(notModified.status, 304);
    assert.equal(xCache(notModified), 'HIT');
    assert.equal((await request(app.base, '/etagged', { headers: { 'if-none-match': '"v0"' } })).status, 200);
  });
});

describe('ranges, Age, Date and Cache-Status', () => {
  let app: RunningApp;
  let clock: FakeClock;
  const calls = new Calls();
  /** The Date the /aged route sent, half a minute before it answered (it had been 30 s on its way, say). */
  let made = '';
  before(async () => {
    ({ app, clock } = await start({ cacheStatus: true }, (web, cache) => {
      web.use(cache);
      web.get('/text', (_req, res) => void (calls.add('text'), res.set('ETag', '"t1"').send('0123456789')));
      web.get('/aged', (_req, res) => {
        made = new Date(clock.now() - 30_000).toUTCString();
        res.set({ 'Cache-Control': 'max-age=600', Age: '30', Date: made }).send('aged');
      });
      web.get('/never', cache.route(false), (_req, res) => void res.send('never'));
    }));
  });

  it('a Range request on a stored 200 is answered 206 from the entry; If-Range that no longer matches gets it whole', async () => {
    await request(app.base, '/text');
    const part = await request(app.base, '/text', { headers: { range: 'bytes=2-4' } });
    assert.deepEqual([part.status, text(part), part.headers['content-range'], xCache(part)], [206, '234', 'bytes 2-4/10', 'HIT']);
    assert.equal((await request(app.base, '/text', { headers: { range: 'bytes=20-' } })).status, 416);
    const changed = await request(app.base, '/text', { headers: { range: 'bytes=2-4', 'if-range': '"t0"' } });
    assert.deepEqual([changed.status, text(changed)], [200, '0123456789']);
    assert.equal(calls.of('text'), 1);
  });

  it("Age counts the age the response came with; Date stays the response's own", async () => {
    await request(app.base, '/aged');
    await clock.advance(5000);
    const hit = await request(app.base, '/aged');
    assert.equal(xCache(hit), 'HIT');
    assert.ok(Number(hit.headers['age']) >= 35, `Age ${hit.headers['age']}`);
    assert.equal(hit.headers['date'], made);
  });

  it('Cache-Status says hit, forward and stored, and never a key', async () => {
    const miss = await request(app.base, '/text?cs=1');
    assert.equal(miss.headers['cache-status'], 'express-resilient-cache; fwd=uri-miss; stored');
    const hit = await request(app.base, '/text?cs=1');
    assert.match(String(hit.headers['cache-status']), /^express-resilient-cache; hit; ttl=\d+$/);
    const bypass = await request(app.base, '/never');
    assert.equal(bypass.headers['cache-status'], 'express-resilient-cache; fwd=bypass');
    for (const res of [miss, hit, bypass]) assert.doesNotMatch(String(res.headers['cache-status']), /key=/);
  });
});
