import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '../helpers/app.js';
import { closeAll, itemPaths, startCachedApp, type CachedApp } from '../helpers/cached-app.js';
import { assertBackOnRedis, assertOutageResilient, reportOutage, runOutage } from '../helpers/outage.js';
import { useRedisBehindProxy } from '../helpers/redis-behind-proxy.js';

// Redis stays healthy; the network between the app and Redis (the fault proxy) misbehaves.

const servers = useRedisBehindProxy();
let app: CachedApp | undefined;
const paths = itemPaths(20);

afterEach(async () => {
  await closeAll(app);
  app = undefined;
  servers.proxy.setLatency(0);
  servers.proxy.blackhole(false);
});

async function startApp(options: { nearCache?: boolean } = {}): Promise<CachedApp> {
  app = await startCachedApp({ redis: servers.proxy.url, redisTimeout: '50ms', ...options });
  await waitFor(() => app?.cache.tier === 'redis', 'cache never reached Redis', 5000);
  return app;
}

test('black-holed (sockets open, nothing answered) for longer than the client socket timeout', async (t) => {
  const cached = await startApp();
  const result = await runOutage({
    app: cached,
    paths,
    beforeMs: 1000,
    fault: async () => {
      servers.proxy.blackhole(true);
      // The client's socketTimeout at redisTimeout 50ms is max(2000, 20 x 50) = 2000 ms: outlast it.
      await sleep(3000);
    },
    heal: async () => servers.proxy.blackhole(false),
  });
  reportOutage(t, result);
  assertOutageResilient(result);
  assert.ok(result.leftRedis && result.degradedEvents >= 1, 'the black hole was not noticed');
  await assertBackOnRedis(result, cached, servers.redis, paths);
});

test('connections reset mid-command, every 100 ms for 3 s', async (t) => {
  const cached = await startApp();
  let resets = 0;
  const result = await runOutage({
    app: cached,
    paths,
    beforeMs: 1000,
    fault: async () => {
      const end = Date.now() + 3000;
      while (Date.now() < end) {
        // Only while connected: between resets the client may still be reconnecting (backoff from 100 ms).
        resets += servers.proxy.connections();
        servers.proxy.reset();
        await sleep(100);
      }
    },
    heal: async () => undefined,
  });
  reportOutage(t, result);
  t.diagnostic(`${resets} connections reset`);
  assertOutageResilient(result);
  // A reset of a live connection opens a closed circuit at once (the client reports the close); resets that land while
  // it is already open (a probe pending, a reconnect in backoff) add nothing. So: reset repeatedly, noticed more than
  // once, which means the cache went back to Redis between resets and left it again.
  assert.ok(resets >= 3 && result.degradedEvents >= 2, `only ${resets} connections were reset, ${result.degradedEvents} noticed`);
  await assertBackOnRedis(result, cached, servers.redis, paths);
});

test('slow: 200 ms of latency each way, above the 50 ms deadline, for 3 s', async (t) => {
  // Without the near-cache, so hits read Redis and run into its deadline (with it, hits never see Redis's latency).
  const cached = await startApp({ nearCache: false });
  const result = await runOutage({
    app: cached,
    paths,
    beforeMs: 1000,
    fault: async () => {
      servers.proxy.setLatency(200);
      await sleep(3000);
    },
    heal: async () => servers.proxy.setLatency(0),
  });
  reportOutage(t, result);
  assertOutageResilient(result);
  assert.ok(result.leftRedis && result.degradedEvents >= 1, 'the latency was not noticed');
  await assertBackOnRedis(result, cached, servers.redis, paths);
});

test('one short hiccup seen by many concurrent requests does not open the circuit', async (t) => {
  const cached = await startApp();
  const result = await runOutage({
    app: cached,
    paths,
    beforeMs: 1000,
    fault: async () => {
      // For 20 ms every command is delayed 80 ms: all requests in flight then miss their deadline once, together.
      servers.proxy.setLatency(80);
      await sleep(20);
      servers.proxy.setLatency(0);
      await sleep(500);
    },
    heal: async () => undefined,
  });
  reportOutage(t, result);
  assertOutageResilient(result);
  assert.equal(result.degradedEvents, 0, 'a single hiccup opened the circuit');
  assert.equal(result.leftRedis, false);
  await assertBackOnRedis(result, cached, servers.redis, paths);
});
