import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { resilientCache, type StatsReport } from '../../src/index.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import {
  counters, mixedPlan, outcomes, sendAll, settled, startObservedApp, type ObservedApp, type Seen,
} from '../helpers/observability-app.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

// Figures add up exactly under concurrent load, and the shared figures catch up after Redis was out.
// Every request is accounted for by name: hits + misses + stale + bypasses = requests sent, locally and in Redis.

const EXPECTED_NAMES = ['/items/:id', '/now', '/private/:id', '/nostore/:id', 'values'];

let redis: RedisServer;
before(async () => {
  redis = await startRedisServer();
});
after(async () => {
  await redis?.stop();
});

async function waitUntil(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

/** Adds one round's client-side tallies into the running ones. */
function accumulate(into: Map<string, Seen>, from: Map<string, Seen>): void {
  for (const [name, seen] of from) {
    const sum = into.get(name) ?? { sent: 0, xCache: {}, notOk: 0 };
    sum.sent += seen.sent;
    sum.notOk += seen.notOk;
    for (const [label, n] of Object.entries(seen.xCache)) sum.xCache[label] = (sum.xCache[label] ?? 0) + n;
    into.set(name, sum);
  }
}

/** Every name's local figures account for exactly the requests sent to it, and the totals are their sums. */
function assertLocalAddsUp(report: StatsReport, seen: Map<string, Seen>, requests: number): void {
  assert.deepEqual(Object.keys(report.names).sort(), [...EXPECTED_NAMES].sort(),
    'names other than the app routes were counted (the health/stats routers must not be)');
  const sum = { hits: 0, misses: 0, stale: 0, bypasses: 0, errors: 0, stores: 0 };
  for (const name of EXPECTED_NAMES) {
    const stats = report.names[name];
    const sent = seen.get(name);
    assert.ok(stats && sent, `no figures for ${name}`);
    assert.equal(sent.notOk, 0, `${name}: non-200 answers`);
    assert.equal(outcomes(stats), sent.sent, `${name}: hits+misses+stale+bypasses != requests sent (${JSON.stringify(stats)})`);
    assert.equal(stats.total, stats.hits + stats.misses + stats.stale, `${name}: total`);
    for (const key of Object.keys(sum) as (keyof typeof sum)[]) sum[key] += stats[key];
  }
  assert.equal(outcomes(report.totals), requests, 'totals do not add up to the requests sent');
  for (const key of Object.keys(sum) as (keyof typeof sum)[]) assert.equal(report.totals[key], sum[key], `totals.${key}`);
  assert.equal(report.totals.total, sum.hits + sum.misses + sum.stale, 'totals.total');
}

/** The shared figures equal the local ones, name by name (one instance on its own prefix). */
function assertSharedEqualsLocal(report: StatsReport): void {
  assert.ok(report.shared, 'no shared figures');
  assert.deepEqual(Object.keys(report.shared.names).sort(), Object.keys(report.names).sort(), 'shared names');
  for (const name of Object.keys(report.names)) {
    assert.deepEqual(counters(report.shared.names[name]), counters(report.names[name]), `shared figures of ${name}`);
  }
  assert.deepEqual(counters(report.shared.totals), counters(report.totals), 'shared totals');
}

test('2,000 mixed requests, 50 in flight: every name adds up exactly, locally and in the shared figures', async () => {
  // A deadline a loaded 2-core machine meets, so that errors stay 0 here and mean something.
  const app = await startObservedApp({ redis: redis.url, prefix: 'obs-load:', redisTimeout: '500ms', stats: { flushInterval: '100ms' } });
  try {
    await waitUntil(() => app.cache.tier === 'redis', 'the cache to connect');
    const plan = mixedPlan(2000, 25);
    const started = Date.now();
    const seen = await sendAll(app.base, plan, 50);
    const elapsed = Date.now() - started;
    await settled(app.cache);
    const local = app.cache.stats();
    assertLocalAddsUp(local, seen, 2000);

    // What clients saw in X-Cache is what was counted.
    const label = (name: string, value: string) => seen.get(name)?.xCache[value] ?? 0;
    for (const name of ['/items/:id', '/now', '/private/:id', '/nostore/:id']) {
      const stats = local.names[name]!;
      assert.equal(stats.hits, label(name, 'HIT'), `${name}: hits vs X-Cache HIT`);
      assert.equal(stats.misses, label(name, 'MISS'), `${name}: misses vs X-Cache MISS`);
      assert.equal(stats.stale, label(name, 'STALE'), `${name}: stale vs X-Cache STALE`);
      assert.equal(stats.bypasses, label(name, 'BYPASS'), `${name}: bypasses vs X-Cache BYPASS`);
      assert.equal(stats.errors, 0, `${name}: errors with a healthy Redis`);
    }
    const items = local.names['/items/:id']!;
    assert.ok(items.hits > items.misses, `a cached route mostly hits: ${JSON.stringify(items)}`);
    assert.ok(items.stores >= 1 && items.stores <= items.misses, `items stores within [1, misses]: ${JSON.stringify(items)}`);
    assert.equal(local.names['/now']!.bypasses, seen.get('/now')!.sent, 'route(false) requests are all bypasses');
    assert.equal(local.names['/private/:id']!.bypasses, seen.get('/private/:id')!.sent, 'Authorization requests are all bypasses');
    const nostore = local.names['/nostore/:id']!;
    assert.deepEqual([nostore.misses, nostore.hits, nostore.stores], [seen.get('/nostore/:id')!.sent, 0, 0], 'no-store: misses only');
    const values = local.names['values']!;
    assert.ok(app.fetches.count >= 1 && values.misses >= app.fetches.count,
      `each fetch is behind at least one miss (${app.fetches.count} fetches): ${JSON.stringify(values)}`);
    assert.equal(values.stores, app.fetches.count, 'getOrSet stores once per fetch');

    // All-instance figures: flushed in batches, then equal to the local ones.
    const report = await app.cache.collectStats();
    assertLocalAddsUp(report, seen, 2000);
    assertSharedEqualsLocal(report);
    assert.equal(outcomes(report.shared!.totals), 2000);
    assert.ok(report.redis && report.redis.totalCommandsProcessed > 0, 'Redis INFO summary present');

    // The stats router serves the same figures and does not count itself.
    const body = await (await fetch(`${app.base}/stats`)).json() as StatsReport;
    assert.deepEqual(counters(body.totals), counters(report.totals), '/stats totals');
    assert.deepEqual(counters(body.shared?.totals), counters(report.totals), '/stats shared totals');
    const one = await (await fetch(`${app.base}/stats/${encodeURIComponent('/items/:id')}`)).json() as Record<string, unknown>;
    assert.equal(one['name'], '/items/:id');
    assert.equal(one['hits'], items.hits);
    assert.equal(one['total'], items.total);
    assert.equal(one['hitRate'], items.hitRate);
    assert.deepEqual(Object.keys(app.cache.stats().names).sort(), [...EXPECTED_NAMES].sort(), 'the stats router counted itself');
    console.log(`# 2000 requests in ${elapsed} ms; totals ${JSON.stringify(counters(report.totals))}`);
  } finally {
    await app.close();
  }
});

test('Redis refused, reset, black-holed and frozen: counting goes on locally and the shared figures catch up exactly', async () => {
  const proxy: FaultProxy = await startFaultProxy({ port: redis.port });
  const app: ObservedApp = await startObservedApp({
    redis: proxy.url, prefix: 'obs-outage:', stats: { flushInterval: '100ms' }, breaker: { openFor: '200ms' },
  });
  const seen = new Map<string, Seen>();
  let sent = 0;
  const round = async (n: number, seed: number) => {
    accumulate(seen, await sendAll(app.base, mixedPlan(n, 10, seed), 20));
    sent += n;
  };
  const backOnRedis = () => waitUntil(() => app.cache.tier === 'redis', 'the cache to return to Redis');
  try {
    await backOnRedis();
    await round(250, 1);
    await settled(app.cache);
    assertSharedEqualsLocal(await app.cache.collectStats());

    // Refused: every connection reset and no new one accepted, across many flush intervals.
    proxy.refuse(true);
    await waitUntil(() => app.cache.tier !== 'redis', 'the cache to leave Redis');
    await round(250, 2);
    await sleep(600);
    const during = await app.cache.collectStats();
    assert.equal(during.shared, null, 'shared figures cannot be read while Redis is out');
    assert.equal(during.redis, null);
    assertLocalAddsUp(during, seen, sent);
    assert.ok(app.cache.stats().shared, 'stats() keeps the last shared figures it read');
    proxy.refuse(false);
    await backOnRedis();

    // Reset: connections cut (RST) again and again while traffic and flushes run.
    const resets = setInterval(() => proxy.reset(), 120);
    try {
      await round(250, 3);
      await sleep(500);
    } finally {
      clearInterval(resets);
    }
    await backOnRedis();

    // Black-holed: nothing goes through either way, so a flush on the wire never reaches Redis and must be sent again.
    // Held past the client's 2 s socket timeout, which then drops the connection.
    proxy.blackhole(true);
    try {
      await round(250, 5);
      await sleep(2500);
    } finally {
      proxy.blackhole(false);
    }
    await backOnRedis();

    // Frozen: Redis stops answering for longer than a flush's deadline; what it received runs when it thaws, so a
    // batch whose reply never came back has been applied and is sent again: it must not count twice.
    redis.pause();
    try {
      await round(250, 4);
      await sleep(1800);
    } finally {
      redis.resume();
    }
    await backOnRedis();

    await settled(app.cache);
    assertLocalAddsUp(app.cache.stats(), seen, sent);
    // Catching up takes a flush or two once the breaker has closed; a bounded wait, then the exact comparison.
    let report = await app.cache.collectStats();
    for (const end = Date.now() + 5_000; Date.now() < end;) {
      if (report.shared !== null && outcomes(report.shared.totals) >= outcomes(report.totals)) break;
      await sleep(100);
      report = await app.cache.collectStats();
    }
    assertLocalAddsUp(report, seen, sent);
    assertSharedEqualsLocal(report);
    assert.equal(outcomes(report.shared!.totals), 1250, 'nothing lost, nothing doubled');
    console.log(`# after refuse/reset/freeze: shared ${JSON.stringify(counters(report.shared!.totals))}`);
  } finally {
    await app.close();
    await proxy.close();
  }
});

test('collectStats() and close() send everything counted before them, even while a flush is on the wire', async () => {
  // 40 ms each way to Redis and a 20 ms flush interval: a timer flush is almost always under way when they are called.
  const proxy = await startFaultProxy({ port: redis.port });
  proxy.setLatency(40);
  const options = { redis: proxy.url, prefix: 'obs-flush:', redisTimeout: '1s', stats: { flushInterval: '20ms' } } as const;
  const cache = resilientCache(options);
  let reader: ReturnType<typeof resilientCache> | undefined;
  let stop = false;
  try {
    await waitUntil(() => cache.tier === 'redis', 'the cache to connect');
    const callers = Array.from({ length: 4 }, async () => {
      // Near-cache hits answer without I/O: yield between calls, as calls spread over requests would.
      while (!stop) {
        await cache.getOrSet('busy', () => 1, { name: 'busy' });
        await new Promise((resolve) => setImmediate(resolve));
      }
    });
    const behind: string[] = [];
    for (let i = 0; i < 12; i++) {
      await sleep(30 + (i % 4) * 12);
      const countedBefore = outcomes(cache.stats().totals);
      const report = await cache.collectStats();
      const shared = report.shared ? outcomes(report.shared.totals) : -1;
      if (shared < countedBefore) behind.push(`${shared} < ${countedBefore}`);
    }
    stop = true;
    await Promise.all(callers);
    assert.deepEqual(behind, [], 'collectStats() answered shared figures missing counts made before it was called');

    // close(): the last flush carries everything; another instance on the same prefix reads it back.
    for (let i = 0; i < 5; i++) await cache.getOrSet('busy', () => 1, { name: 'busy' });
    const final = cache.stats().totals;
    await cache.close();
    proxy.setLatency(0);
    reader = resilientCache({ redis: redis.url, prefix: options.prefix });
    await waitUntil(() => reader!.tier === 'redis', 'the reader to connect');
    const read = await reader.collectStats();
    assert.deepEqual(counters(read.shared?.totals), counters(final), 'counts made before close() did not all reach Redis');
  } finally {
    stop = true;
    await cache.close();
    await reader?.close();
    await proxy.close();
  }
});
