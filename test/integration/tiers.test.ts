import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { Redis } from 'ioredis';
import { ENTRY_FORMAT_VERSION } from '../../src/entry/codec.js';
import { healthRouter, resilientCache, type ResilientCache, type ResilientCacheOptions } from '../../src/index.js';
import { Calls, STEADY, listen, nextEvent, redisKeys, redisReady, request, storedKeys, waitFor, xCache, type RunningApp } from '../helpers/app.js';
import { freePort } from '../helpers/free-port.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

// Redis when it answers, memory when it does not, and never a failed request because of Redis.

let server: RedisServer;
const closers: Array<() => Promise<void>> = [];

before(async () => {
  server = await startRedisServer();
});

after(async () => {
  for (const close of closers.reverse()) await close();
  await server?.stop();
});

/** An app with `app.use(cache)`, `/item/:id` and the health router; counts handler runs per id. */
async function startApp(options: ResilientCacheOptions): Promise<{ app: RunningApp; cache: ResilientCache; calls: Calls }> {
  const cache = resilientCache({ ttl: '60s', ...options });
  const calls = new Calls();
  const web = express();
  web.use('/health', healthRouter(cache));
  web.use(cache);
  web.get('/item/:id', (req, res) => {
    calls.add(String(req.params.id));
    res.json({ id: req.params.id, name: `item ${req.params.id}` });
  });
  const app = await listen(web);
  closers.push(async () => {
    await app.close();
    await cache.close();
  });
  return { app, cache, calls };
}

function bodyOf(id: string): string {
  return JSON.stringify({ id, name: `item ${id}` });
}

describe('with Redis configured', () => {
  it('entries land in Redis', async () => {
    const { app, cache } = await startApp({ ...STEADY, redis: server.url, prefix: 'landed:' });
    await redisReady(cache);
    const miss = await request(app.base, '/item/1');
    assert.equal(xCache(miss), 'MISS');
    const [key] = await storedKeys(server, 'landed:r:*');
    assert.ok(key);
    assert.ok(Number(await server.command('PTTL', key)) > 55_000, 'stored with the ttl');
    assert.equal(xCache(await request(app.base, '/item/1')), 'HIT');
    assert.equal(cache.tier, 'redis');
  });
});

describe('a busy event loop while Redis connects', () => {
  it('does not stop entries from being stored in Redis', async () => {
    // The app's own start-up work blocking the loop just as the client connects: the app's own client, so the test
    // can run that work on its 'ready', right after the cache's own listener.
    const client = new Redis(server.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    client.on('error', () => undefined);
    closers.push(async () => void client.disconnect());
    const { app, cache, calls } = await startApp({ redis: client, prefix: 'stalled:' });
    client.once('ready', () => {
      const until = Date.now() + 1000;
      while (Date.now() < until);
    });
    await redisReady(cache);
    assert.equal(xCache(await request(app.base, '/item/1')), 'MISS');
    await storedKeys(server, 'stalled:r:*');
    assert.equal(xCache(await request(app.base, '/item/1')), 'HIT');
    assert.equal(calls.of('1'), 1);
  });
});

describe('Redis absent at start', () => {
  it('the app answers from memory: MISS then HIT, tier memory, health 200 warn', async () => {
    const nobody = await freePort();
    const { app, cache, calls } = await startApp({ redis: `redis://127.0.0.1:${nobody}` });
    const miss = await request(app.base, '/item/1');
    assert.equal(miss.status, 200);
    assert.equal(xCache(miss), 'MISS');
    assert.equal(miss.body.toString(), bodyOf('1'));
    const hit = await request(app.base, '/item/1');
    assert.equal(xCache(hit), 'HIT');
    assert.equal(hit.body.toString(), bodyOf('1'));
    assert.equal(calls.of('1'), 1);
    assert.ok(miss.ms < 1000 && hit.ms < 1000, `took ${miss.ms} and ${hit.ms} ms`);
    assert.equal(cache.tier, 'memory');
    const health = await request(app.base, '/health');
    assert.equal(health.status, 200);
    const report = JSON.parse(health.body.toString()) as { status: string; tier: string };
    assert.equal(report.status, 'warn');
    assert.equal(report.tier, 'memory');
  });
});

describe('Redis killed mid-run', () => {
  it('keeps answering from memory, then goes back to Redis by itself when it returns', async () => {
    const victim = await startRedisServer();
    closers.push(() => victim.stop());
    const { app, cache, calls } = await startApp({ redis: victim.url, prefix: 'victim:' });
    await redisReady(cache);
    for (const id of ['1', '2']) {
      assert.equal(xCache(await request(app.base, `/item/${id}`)), 'MISS');
      assert.equal(xCache(await request(app.base, `/item/${id}`)), 'HIT');
    }

    const degraded = nextEvent(cache, 'degraded');
    await victim.kill();
    const labels: string[] = [];
    for (let i = 0; i < 30; i++) {
      const id = String(i % 3);
      const res = await request(app.base, `/item/${id}`);
      assert.equal(res.status, 200, `request ${i}`);
      assert.equal(res.body.toString(), bodyOf(id), `request ${i}`);
      assert.ok(res.ms < 1000, `request ${i} took ${Math.round(res.ms)} ms`);
      labels.push(xCache(res) ?? '-');
    }
    await degraded;
    assert.equal(cache.tier, 'memory');
    // Each id misses once in memory, then is served from there.
    assert.deepEqual(labels.slice(0, 3), ['MISS', 'MISS', 'MISS']);
    assert.ok(labels.slice(3).every((l) => l === 'HIT'), labels.join(' '));
    assert.equal(calls.of('0'), 1);

    const recovered = nextEvent(cache, 'recovered', 10_000);
    await victim.restart();
    await recovered;
    assert.equal(cache.tier, 'redis');
    // The restarted server is empty and the memory tier was dropped: fresh entries go to Redis again.
    const miss = await request(app.base, '/item/7');
    assert.equal(xCache(miss), 'MISS');
    await storedKeys(victim, 'victim:r:*');
    const hit = await request(app.base, '/item/7');
    assert.equal(xCache(hit), 'HIT');
    assert.equal(hit.body.toString(), bodyOf('7'));
  });
});

describe('a corrupt entry', () => {
  it('is a miss with the correct body, never a 500, and is replaced', async () => {
    const { app, cache, calls } = await startApp({ ...STEADY, redis: server.url, prefix: 'corrupt:' });
    await redisReady(cache);
    assert.equal(xCache(await request(app.base, '/item/5')), 'MISS');
    const [key] = await storedKeys(server, 'corrupt:r:*');
    assert.ok(key);
    // Not ours at all; our magic with a cut-off entry; our magic with a format version we do not read.
    const ours = `RC${String.fromCharCode(ENTRY_FORMAT_VERSION)}\u0000`;
    const garbage = ['junk', `${ours}truncated`, 'RC\u0063\u0000from a future version'];
    for (const [i, junk] of garbage.entries()) {
      await server.command('SET', key, junk);
      const res = await request(app.base, '/item/5');
      assert.equal(res.status, 200, junk);
      assert.equal(xCache(res), 'MISS', junk);
      assert.equal(res.body.toString(), bodyOf('5'));
      assert.equal(calls.of('5'), i + 2, 'the handler ran again');
      await waitFor(async () => {
        const stored = await server.command('GET', key);
        return stored !== junk && stored.startsWith(ours);
      }, 'the entry to be replaced by a decodable one');
      const hit = await request(app.base, '/item/5');
      assert.equal(xCache(hit), 'HIT', junk);
      assert.equal(hit.body.toString(), bodyOf('5'));
    }
    assert.deepEqual(await redisKeys(server, 'corrupt:r:*'), [key], 'replaced in place');
  });
});
