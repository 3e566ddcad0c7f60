import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { resilientCache, type ResilientCache } from '../../src/index.js';
import { Calls, STEADY, listen, redisKeys, redisReady, request, storedKeys, xCache, type RunningApp } from '../helpers/app.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

// What makes two requests the same entry, and what reaches Redis key names.

const PREFIX = 'keys:';
const GREETINGS: Record<string, string> = { en: 'hello', fr: 'bonjour', de: 'hallo' };

let server: RedisServer;
let cache: ResilientCache;
let app: RunningApp;
const calls = new Calls();

before(async () => {
  server = await startRedisServer();
  cache = resilientCache({ ...STEADY, redis: server.url, prefix: PREFIX, ttl: '60s' });
  const web = express();
  web.use(cache);
  web.get('/query/:case', (req, res) => {
    calls.add(`query ${req.params.case} ${req.originalUrl.split('?')[1]}`);
    res.json(req.query);
  });
  web.get('/host', (req, res) => {
    calls.add(`host ${req.hostname}`);
    res.send(`served for ${req.hostname}`);
  });
  web.get('/greeting', (req, res) => {
    const lang = String(req.headers['accept-language'] ?? 'en');
    calls.add(`greeting ${lang}`);
    res.set('Vary', 'Accept-Language').set('Content-Language', lang).send(GREETINGS[lang] ?? GREETINGS['en']);
  });
  web.get(/^\/private-area\/.*/, (req, res) => {
    res.send(`ok ${req.path}`);
  });
  app = await listen(web);
  await redisReady(cache);
});

after(async () => {
  await app?.close();
  await cache?.close();
  await server?.stop();
});

describe('cache keys', () => {
  it('query parameter order does not matter', async () => {
    const first = await request(app.base, '/query/order?a=1&b=2');
    const second = await request(app.base, '/query/order?b=2&a=1');
    assert.equal(xCache(first), 'MISS');
    assert.equal(xCache(second), 'HIT');
    assert.ok(second.body.equals(first.body));
    assert.equal(calls.of('query order a=1&b=2'), 1);
    assert.equal(calls.of('query order b=2&a=1'), 0, 'the reordered query was served from the first entry');
  });

  it('repeated parameters keep their order: ?a=1&a=2 and ?a=2&a=1 are different entries', async () => {
    const one = await request(app.base, '/query/dupes?a=1&a=2&z=0');
    const two = await request(app.base, '/query/dupes?z=0&a=2&a=1');
    assert.equal(xCache(one), 'MISS');
    assert.equal(xCache(two), 'MISS');
    assert.deepEqual(JSON.parse(one.body.toString()), { a: ['1', '2'], z: '0' });
    assert.deepEqual(JSON.parse(two.body.toString()), { z: '0', a: ['2', '1'] });
    // Each is then served its own entry, even with the other parameters moved about.
    const oneAgain = await request(app.base, '/query/dupes?z=0&a=1&a=2');
    const twoAgain = await request(app.base, '/query/dupes?a=2&z=0&a=1');
    assert.equal(xCache(oneAgain), 'HIT');
    assert.equal(xCache(twoAgain), 'HIT');
    assert.ok(oneAgain.body.equals(one.body));
    assert.ok(twoAgain.body.equals(two.body));
  });

  it('the host is part of the key', async () => {
    const a = await request(app.base, '/host', { headers: { Host: 'one.example' } });
    const b = await request(app.base, '/host', { headers: { Host: 'two.example' } });
    assert.equal(xCache(a), 'MISS');
    assert.equal(xCache(b), 'MISS');
    const a2 = await request(app.base, '/host', { headers: { Host: 'one.example' } });
    const b2 = await request(app.base, '/host', { headers: { Host: 'two.example' } });
    assert.equal(xCache(a2), 'HIT');
    assert.equal(a2.body.toString(), 'served for one.example');
    assert.equal(xCache(b2), 'HIT');
    assert.equal(b2.body.toString(), 'served for two.example');
    assert.equal(calls.of('host one.example'), 1);
    assert.equal(calls.of('host two.example'), 1);
  });

  it('a response with Vary: Accept-Language is stored per language, each served its own', async () => {
    const got: string[] = [];
    for (const lang of ['en', 'fr', 'en', 'de', 'fr', 'de', 'en']) {
      const res = await request(app.base, '/greeting', { headers: { 'Accept-Language': lang } });
      assert.equal(res.headers['content-language'], lang);
      assert.equal(res.headers['vary'], 'Accept-Language');
      got.push(`${lang} ${xCache(res)} ${res.body.toString()}`);
    }
    assert.deepEqual(got, [
      'en MISS hello',
      'fr MISS bonjour',
      'en HIT hello',
      'de MISS hallo',
      'fr HIT bonjour',
      'de HIT hallo',
      'en HIT hello',
    ]);
    for (const lang of ['en', 'fr', 'de']) assert.equal(calls.of(`greeting ${lang}`), 1, lang);
  });

  it('no raw request text reaches a Redis key name', async () => {
    const secrets = ['private-area', 'alice@example.com', 's3cr3t-token', 'tr-TR', 'one.example'];
    const before = (await redisKeys(server, `${PREFIX}r:*`)).length;
    const res = await request(app.base, '/private-area/alice@example.com?token=s3cr3t-token', {
      headers: { 'Accept-Language': 'tr-TR' },
    });
    assert.equal(res.status, 200);
    await storedKeys(server, `${PREFIX}r:*`, before + 1);
    const keys = await redisKeys(server);
    assert.ok(keys.length > 0);
    for (const key of keys) {
      assert.ok(key.startsWith(PREFIX), `${key} lives inside the prefix`);
      for (const text of [...secrets, 'greeting', 'query', 'host', 'hello', 'bonjour']) {
        assert.ok(!key.toLowerCase().includes(text.toLowerCase()), `${key} contains "${text}"`);
      }
    }
    // Fixed length: every response key is prefix + r:{43-character digest}.
    for (const key of await redisKeys(server, `${PREFIX}r:*`)) assert.match(key, /^keys:r:\{[A-Za-z0-9_-]{43}\}$/);
  });
});
