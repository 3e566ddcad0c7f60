import assert from 'node:assert/strict';
import { get as httpGet } from 'node:http';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { request, waitFor, xCache, type RawResponse } from '../helpers/app.js';
import { PARAGRAPH } from '../helpers/paragraph.js';
import { startChildApp, type ChildApp } from '../helpers/spawn-child-app.js';

// What a hit sends is what the miss sent, with the middleware real apps mount around the cache, in either order.
// Each app runs in its own process (test/helpers/middleware-child-app.ts), with the real packages.

const APP = fileURLToPath(new URL('../helpers/middleware-child-app.ts', import.meta.url));
const apps = new Map<string, Promise<ChildApp>>();
after(async () => {
  await Promise.all([...apps.values()].map(async (app) => (await app).stop()));
});

/** The child app for a layout, started once and shared by the tests that use it. */
function appFor(layout: string): Promise<ChildApp> {
  let app = apps.get(layout);
  if (!app) apps.set(layout, (app = startChildApp({ LAYOUT: layout }, APP)));
  return app;
}

async function runs(app: ChildApp): Promise<Record<string, number>> {
  return JSON.parse((await request(app.base, '/__runs')).body.toString()) as Record<string, number>;
}

/** The body as the client reads it: gunzipped when it says gzip. */
function decoded(res: RawResponse): string {
  return (res.headers['content-encoding'] === 'gzip' ? gunzipSync(res.body) : res.body).toString();
}

const BODIES: Record<string, string> = {
  '/send': PARAGRAPH,
  '/json': JSON.stringify({ text: PARAGRAPH, list: [1, 2, 3] }),
  '/writes': PARAGRAPH,
  '/pipe': PARAGRAPH,
};

describe('compression() around the cache', () => {
  for (const layout of ['compression-before', 'compression-after']) {
    for (const first of ['gzip', 'identity']) {
      it(`${layout}, ${first} client first: every hit decodes to the body, in the encoding its client asked for`, async () => {
        const app = await appFor(layout);
        for (const [route, body] of Object.entries(BODIES)) {
          const path = `${route}?first=${first}`;
          const order = first === 'gzip' ? ['gzip', 'identity', 'gzip', 'identity'] : ['identity', 'gzip', 'identity', 'gzip'];
          const seen = [];
          for (const encoding of order) {
            const res = await request(app.base, path, { headers: { 'accept-encoding': encoding } });
            assert.equal(res.status, 200);
            assert.equal(decoded(res), body, `${path} for ${encoding} (${xCache(res)})`);
            if (encoding === 'identity') assert.equal(res.headers['content-encoding'], undefined, `${path}: identity client got an encoding`);
            if (res.headers['content-length'] !== undefined) assert.equal(Number(res.headers['content-length']), res.body.length);
            seen.push(xCache(res));
          }
          assert.ok(seen.slice(2).every((label) => label === 'HIT'), `${path}: ${seen.join(' ')}`);
        }
      });
    }
  }
});

describe('express-session before the cache', () => {
  for (const layout of ['session-rolling', 'session-uninitialized']) {
    it(`${layout}: a response that went out with Set-Cookie is never stored`, async () => {
      const app = await appFor(layout);
      // A rolling session sets its cookie on every response of a session that exists; a new one, on a first visit.
      const started = layout === 'session-rolling' ? await request(app.base, '/start-session') : undefined;
      const cookie = String(started?.headers['set-cookie'] ?? '').split(';')[0];
      const headers = cookie ? { cookie } : undefined;
      const first = await request(app.base, '/plain', { headers });
      assert.ok(first.headers['set-cookie'], 'the session set a cookie on the way out');
      const second = await request(app.base, '/plain', { headers });
      assert.notEqual(xCache(second), 'HIT');
      assert.ok(second.headers['set-cookie'], 'the second response set its own cookie');
      if (!cookie) assert.notEqual(String(second.headers['set-cookie']), String(first.headers['set-cookie']));
      assert.equal((await runs(app))['/plain'], 2);
    });
  }
});

describe('Range requests and plain ones at once', () => {
  for (const path of ['/files/hundred.txt', '/sendfile']) {
    it(`${path}: a plain GET concurrent with a Range request gets the whole file`, async () => {
      const app = await appFor('plain');
      const url = `${path}?at=${Date.now()}`;
      const [ranged, plain] = await Promise.all([request(app.base, url, { headers: { range: 'bytes=0-99' } }), request(app.base, url)]);
      assert.equal(ranged.status, 206);
      assert.equal(ranged.body.length, 100);
      assert.equal(plain.status, 200);
      assert.equal(plain.body.length, 1000);
    });

    it(`${path}: a Range request never fills the entry plain requests get`, async () => {
      const app = await appFor('plain');
      const url = `${path}?only-ranged=${Date.now()}`;
      assert.equal((await request(app.base, url, { headers: { range: 'bytes=0-99' } })).status, 206);
      const plain = await request(app.base, url);
      assert.equal(plain.status, 200);
      assert.equal(plain.body.length, 1000);
    });
  }
});

/** Opens a server-sent-events stream; resolves with how long the first event took, leaving the stream open. */
function firstEvent(base: string, path: string, open: Array<{ destroy(): void }>): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpGet(`${base}${path}`, { agent: false }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        if (text.includes('data: first')) resolve(performance.now() - started);
      });
    });
    open.push(req);
    req.on('error', (error) => (error.message === 'socket hang up' ? undefined : reject(error)));
    req.setTimeout(5000, () => reject(new Error(`no first event within 5 s from ${path}`)));
  });
}

describe('a stream that never ends', () => {
  for (const subscribers of [2, 10]) {
    for (const query of ['', '?nocache=1']) {
      it(`${subscribers} concurrent subscribers of /events${query} each get their first event at once`, async () => {
        const app = await appFor('plain');
        const path = `/events${query}${query ? '&' : '?'}n=${subscribers}`;
        const open: Array<{ destroy(): void }> = [];
        try {
          // Every stream stays open until all have their first event: nobody may wait for another's stream to end.
          const times = await Promise.all(Array.from({ length: subscribers }, () => firstEvent(app.base, path, open)));
          // The bound is the behaviour: a stream never ends, so waiting on another subscriber's means waiting forever.
          for (const ms of times) assert.ok(ms < 2000, `first event after ${Math.round(ms)} ms`);
        } finally {
          for (const req of open) req.destroy();
        }
      });
    }
  }

  it('is never stored', async () => {
    const app = await appFor('plain');
    const open: Array<{ destroy(): void }> = [];
    await firstEvent(app.base, '/events?stored=no', open);
    for (const req of open.splice(0)) req.destroy();
    await firstEvent(app.base, '/events?stored=no', open);
    for (const req of open.splice(0)) req.destroy();
    const stats = JSON.parse((await request(app.base, '/__stats')).body.toString()) as { names: Record<string, { stores: number }> };
    assert.equal(stats.names['/events']?.stores ?? 0, 0);
  });
});

/** The header lines a client sees, minus those that differ between two answers by nature (Date, Age, X-Cache). */
function headerSet(res: RawResponse): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
    const name = (res.rawHeaders[i] as string).toLowerCase();
    if (['date', 'age', 'x-cache', 'connection', 'keep-alive'].includes(name)) continue;
    out[name] = out[name] === undefined ? res.rawHeaders[i + 1] as string : `${out[name]}, ${res.rawHeaders[i + 1]}`;
  }
  return out;
}

describe('helmet() and cors() around the cache', () => {
  for (const layout of ['helmet-before', 'helmet-after', 'cors-before', 'cors-after']) {
    it(`${layout}: a hit carries the same headers as the miss, for each origin`, async () => {
      const app = await appFor(layout);
      for (const origin of ['https://one.example', 'https://two.example']) {
        const headers = { origin };
        const path = `/plain?layout=${layout}`;
        const miss = await request(app.base, `${path}&origin=${encodeURIComponent(origin)}`, { headers });
        const hit = await request(app.base, `${path}&origin=${encodeURIComponent(origin)}`, { headers });
        assert.equal(xCache(hit), 'HIT');
        assert.deepEqual(headerSet(hit), headerSet(miss));
        // One entry for both origins: a hit for the second origin answers that origin, never the first.
        const shared = await request(app.base, path, { headers });
        const again = await request(app.base, path, { headers });
        assert.deepEqual(headerSet(again), headerSet(shared), `${origin}: the shared entry`);
        if (layout.startsWith('cors')) assert.equal(again.headers['access-control-allow-origin'], origin);
        if (layout === 'helmet-after') assert.equal(again.headers['x-powered-by'], undefined);
      }
    });
  }
});

describe('responses that did not complete', () => {
  it('a client aborting mid-body, a handler throwing after its headers, next(err): nothing stored', async () => {
    const app = await appFor('plain');
    await new Promise<void>((resolve) => {
      const req = httpGet(`${app.base}/slow-body`, { agent: false }, (res) => res.once('data', () => {
        req.destroy();
        resolve();
      }));
      req.on('error', () => undefined);
    });
    await sleep(400);
    const failedAfterHeaders = await request(app.base, '/throw-after-headers').catch(() => undefined);
    assert.ok(!failedAfterHeaders || failedAfterHeaders.body.toString() === 'partial ');
    assert.equal((await request(app.base, '/next-error')).status, 500);
    for (const path of ['/slow-body', '/throw-after-headers', '/next-error']) {
      const res = await request(app.base, path).catch(() => undefined);
      assert.notEqual(res && xCache(res), 'HIT', path);
    }
    await waitFor(async () => (await runs(app))['/slow-body'] === 2, 'the second /slow-body to run its handler');
    const ran = await runs(app);
    assert.deepEqual([ran['/slow-body'], ran['/throw-after-headers'], ran['/next-error']], [2, 2, 2]);
  });
});
