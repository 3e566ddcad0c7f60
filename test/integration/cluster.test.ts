import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import express from 'express';
import { Cluster } from 'ioredis';
import { resilientCache, type ResilientCache } from '../../src/index.js';
import { listen, type RunningApp } from '../helpers/app.js';
import { startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.js';

// Everything the package writes to Redis must work when keys live on different nodes: entries, tag and name sets,
// getOrSet values, fill locks and shared counters.
let cluster: RedisCluster;
let client: Cluster;
let cache: ResilientCache;
let app: RunningApp;
const runs = new Map<string, number>();

before(async () => {
  cluster = await startRedisCluster();
  client = new Cluster([...cluster.startupNodes]);
  // A generous deadline: this file is about where keys land on a cluster, not about deadlines (tested elsewhere).
  cache = resilientCache({ redis: client, prefix: 'cl:', lock: true, redisTimeout: '1s', stats: { flushInterval: '100ms' } });
  const web = express();
  web.use(cache);
  web.get('/items/:id', cache.route({ name: 'items', tags: (req) => ['items', `item:${req.params.id}`] }), async (req, res) => {
    const id = String(req.params.id);
    runs.set(id, (runs.get(id) ?? 0) + 1);
    await sleep(id === 'slow' ? 200 : 0);
    res.json({ id, run: runs.get(id) });
  });
  app = await listen(web);
  await until(() => cache.tier === 'redis', 'the cache to use the cluster');
});

after(async () => {
  await app?.close();
  await cache?.close();
  await client?.quit();
  await cluster?.stop();
});

test('entries spread over the nodes are stored, served and invalidated by tag, name and URL', async () => {
  const ids = Array.from({ length: 30 }, (_, i) => String(i));
  for (const id of ids) assert.equal(await xCache(`/items/${id}`), 'MISS');
  await until(async () => (await cache.stats()).names['items']?.stores === 30, 'all 30 entries to be stored');
  for (const id of ids) assert.equal(await xCache(`/items/${id}`), 'HIT');
  const perNode = await Promise.all(cluster.nodes.map(async (node) => Number(await node.command('DBSIZE'))));
  assert.ok(perNode.filter((n) => n > 0).length >= 2, `keys on at least two nodes, got ${perNode.join(', ')}`);

  assert.ok(await cache.invalidate({ tags: ['item:3'] }) >= 1);
  assert.equal(await xCache('/items/3'), 'MISS');
  assert.equal(await xCache('/items/4'), 'HIT');

  await cache.invalidate({ keys: [`${app.base}/items/5`] });
  assert.equal(await xCache('/items/5'), 'MISS');

  await cache.invalidate({ tags: ['items'] });
  for (const id of ['0', '10', '29']) assert.equal(await xCache(`/items/${id}`), 'MISS');
  await until(async () => (await xCache('/items/0')) === 'HIT', 'a refilled entry');

  await cache.invalidate({ names: ['items'] });
  assert.equal(await xCache('/items/0'), 'MISS');
});

test('getOrSet values live in the cluster and come back across calls', async () => {
  let fetches = 0;
  const fetch = async () => ({ n: ++fetches, bytes: Buffer.from([0, 255]) });
  for (const key of ['user:1', 'user:2', 'user:3']) {
    const first = await cache.getOrSet(key, fetch, { tags: ['users'] });
    await until(async () => (await cache.getOrSet(key, async () => ({ n: -1, bytes: Buffer.alloc(0) }))).n === first.n, `${key} cached`);
  }
  assert.equal(fetches, 3);
  await cache.invalidate({ tags: ['users'] });
  assert.equal((await cache.getOrSet('user:2', fetch)).n, 4);
});

test('a stampede on one cold URL runs the handler once, with the lock in the cluster', async () => {
  const answers = await Promise.all(Array.from({ length: 50 }, () => fetch(`${app.base}/items/slow`).then((r) => r.json() as Promise<{ run: number }>)));
  assert.equal(runs.get('slow'), 1);
  assert.ok(answers.every((body) => body.run === 1));
});

test('shared counters are flushed to and read from the cluster', async () => {
  await until(async () => {
    const report = await cache.collectStats();
    return report.shared?.names['items']?.total === report.names['items']?.total;
  }, 'shared figures to catch up with the local ones');
  const report = await cache.collectStats();
  assert.equal(report.shared?.names['items']?.hits, report.names['items']?.hits);
  assert.equal((await cache.health()).status, 'pass');
});

async function xCache(path: string): Promise<string | null> {
  const response = await fetch(`${app.base}${path}`);
  await response.arrayBuffer();
  return response.headers.get('x-cache');
}

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
