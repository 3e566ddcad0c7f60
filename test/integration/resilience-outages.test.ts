import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '../helpers/app.js';
import { closeAll, itemPaths, startCachedApp, type CachedApp } from '../helpers/cached-app.js';
import { assertBackOnRedis, assertOutageResilient, reportOutage, runOutage } from '../helpers/outage.js';
import { useRedisBehindProxy } from '../helpers/redis-behind-proxy.js';

// Redis itself goes away, stops, flaps or refuses writes, with the fault proxy in the path (passing traffic through
// untouched, except when flapping). Each scenario asserts no 5xx, right bodies, bounded latency and recovery.

const servers = useRedisBehindProxy();
let app: CachedApp | undefined;
const paths = itemPaths(20);

afterEach(async () => {
  await closeAll(app);
  app = undefined;
  servers.proxy.refuse(false);
});

/** A cache in front of `/items/:id`; unless Redis is meant to be absent, wait until it is on Redis. */
async function startApp({ connected = true } = {}): Promise<CachedApp> {
  app = await startCachedApp({ redis: servers.proxy.url, redisTimeout: '50ms' });
  if (connected) await waitFor(() => app?.cache.tier === 'redis', 'cache never reached Redis', 5000);
  return app;
}

test('Redis absent at start: serves from memory, moves to Redis once it comes up', async (t) => {
  await servers.redis.stop();
  const cached = await startApp({ connected: false });
  const result = await runOutage({
    app: cached,
    paths,
    beforeMs: 0,
    fault: () => sleep(2000),
    heal: () => servers.redis.restart(),
  });
  reportOutage(t, result);
  assertOutageResilient(result);
  assert.ok(result.leftRedis, `the cache never left Redis while Redis was down (tier: ${result.tierChanges.join(', ')})`);
  await assertBackOnRedis(result, cached, servers.redis, paths);
});

test('Redis killed mid-load and restarted on the same port', async (t) => {
  const cached = await startApp();
  const result = await runOutage({
    app: cached,
    paths,
    beforeMs: 1000,
    fault: async () => {
      await servers.redis.kill();
      await sleep(2000);
    },
    heal: () => servers.redis.restart(),
  });
  reportOutage(t, result);
  assertOutageResilient(result);
  assert.ok(result.leftRedis && result.degradedEvents >= 1, 'the kill was not noticed');
  assert.ok((result.summary.phases['before']?.xCache['HIT'] ?? 0) > 0, 'no HITs before the kill');
  await assertBackOnRedis(result, cached, servers.redis, paths);
});

test('Redis frozen (SIGSTOP) past the socket timeout, then resumed', async (t) => {
  const cached = await startApp();
  const result = await runOutage({
    app: cached,
    paths,
    beforeMs: 1000,
    fault: async () => {
      servers.redis.pause();
      await sleep(2500);
    },
    heal: async () => servers.redis.resume(),
  });
  reportOutage(t, result);
  assertOutageResilient(result);
  assert.ok(result.leftRedis && result.degradedEvents >= 1, 'the freeze was not noticed');
  await assertBackOnRedis(result, cached, servers.redis, paths);
});

test('Redis flapping: 2 s refused, 2 s up, three times', async (t) => {
  const cached = await startApp();
  let backDuringUpWindows = 0;
  const result = await runOutage({
    app: cached,
    paths,
    beforeMs: 500,
    fault: async () => {
      for (let cycle = 0; cycle < 3; cycle++) {
        servers.proxy.refuse(true);
        await sleep(2000);
        servers.proxy.refuse(false);
        if (cycle === 2) break;
        await sleep(2000);
        if (cached.cache.tier === 'redis') backDuringUpWindows++;
      }
    },
    heal: async () => servers.proxy.refuse(false),
  });
  reportOutage(t, result);
  t.diagnostic(`back on Redis at the end of ${backDuringUpWindows} of 2 inner up windows`);
  assertOutageResilient(result);
  assert.ok(result.degradedEvents >= 3, `expected one degraded event per down window, got ${result.degradedEvents}`);
  await assertBackOnRedis(result, cached, servers.redis, paths);
});

test('Redis answering errors: writes fail with OOM (noeviction), reads keep working', async (t) => {
  const cached = await startApp();
  const warm = itemPaths(10, 'warm-');
  const cold = itemPaths(10, 'cold-');
  for (const path of warm) await (await fetch(`${cached.url}${path}`)).text();
  await waitFor(async () => (await servers.redis.command('EXISTS', ...warm.map(cached.responseKey))) === String(warm.length), 'the entries to be stored', 2000);
  let coldStoredDuringFault = -1;
  const result = await runOutage({
    app: cached,
    paths: [...warm, ...cold],
    beforeMs: 0,
    fault: async () => {
      await servers.redis.command('SET', 'ballast', 'x'.repeat(2_000_000));
      await servers.redis.command('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
      await servers.redis.command('CONFIG', 'SET', 'maxmemory', '1mb');
      await assert.rejects(servers.redis.command('SET', 'probe', '1'), /OOM/);
      // The load began with the fault: a cold fill may have been stored before Redis was full.
      const storedBeforeFull = Number(await servers.redis.command('EXISTS', ...cold.map(cached.responseKey)));
      await sleep(3000);
      coldStoredDuringFault = Number(await servers.redis.command('EXISTS', ...cold.map(cached.responseKey))) - storedBeforeFull;
    },
    heal: async () => {
      await servers.redis.command('CONFIG', 'SET', 'maxmemory', '0');
      await servers.redis.command('DEL', 'ballast');
    },
  });
  reportOutage(t, result);
  assertOutageResilient(result);
  assert.equal(coldStoredDuringFault, 0, 'a write succeeded although Redis was out of memory');
  const warmDuringFault = result.summary.records.filter((r) => r.phase === 'fault' && warm.includes(r.path));
  const notHit = warmDuringFault.filter((r) => r.xCache !== 'HIT').length;
  t.diagnostic(`warm paths during the fault: ${warmDuringFault.length} requests, ${notHit} not HIT`);
  assert.ok(warmDuringFault.length > 0, 'no requests for the warm paths during the fault');
  // Write errors are replies, not silence: the circuit stays closed and stored entries keep being served from Redis.
  // (A lookup may still miss its 50 ms deadline when the machine stalls; allow 5% of those.)
  assert.equal(result.degradedEvents, 0, 'failing writes opened the circuit');
  assert.ok(notHit <= warmDuringFault.length * 0.05, `${notHit} of ${warmDuringFault.length} stored entries were not served`);
  await assertBackOnRedis(result, cached, servers.redis, [...warm, ...cold]);
});
