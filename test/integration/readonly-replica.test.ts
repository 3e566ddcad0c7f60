import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { coreOf } from '../../src/core.js';
import { canonicalUrlOf } from '../../src/http/keys.js';
import type { HealthReport } from '../../src/index.js';
import { digest } from '../../src/stores/key-space.js';
import { request, STEADY, waitFor, xCache, type RawResponse } from '../helpers/app.js';
import { closeAll, startCachedApp, type CachedApp, type RouteSetup } from '../helpers/cached-app.js';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

// A cache pointed at a READONLY replica (a misconfigured URL), and at a primary demoted during a failover: Redis
// refuses every write. Each response is kept in the instance's memory and served from there (a second request is a
// HIT); reads still go to Redis, so the tier stays `redis`; health warns, naming READONLY and the fix; an invalidation
// reaches every instance although Redis refused it; and once Redis takes writes again, entries land in Redis.

/** No request may take longer than this, whatever Redis refuses. */
const MAX_LATENCY_MS = 1000;
/** Every instance sends this Host, so they key a path alike. */
const SHARED_HOST = 'shared.test';
const TIMEOUT = { timeout: 60_000 };
/** A primary that starts a replica's full sync at once, rather than waiting 5 s for more replicas to join it. */
const SYNC_AT_ONCE = { args: ['--repl-diskless-sync-delay', '0'] };

let primary: RedisServer;
let replica: RedisServer;
const apps: CachedApp[] = [];
let prefixes = 0;

before(async () => {
  primary = await startRedisServer(SYNC_AT_ONCE);
  replica = await startRedisServer({ args: ['--replicaof', primary.host, String(primary.port)] });
  await waitForLink(replica);
}, TIMEOUT);

/** Each test's instances go with it, before any server of its own is stopped. */
async function closeInstances(): Promise<void> {
  await closeAll(...apps.splice(0));
}

afterEach(closeInstances);

after(async () => {
  await replica?.stop();
  await primary?.stop();
}, TIMEOUT);

/** `/items/:id`, named `items` and tagged `item:<id>`, its body numbered by the instance's handler runs; `/health`. */
const routes: RouteSetup = (app, cache, count) => {
  let runs = 0;
  app.use('/health', cache.healthRouter());
  app.use(cache);
  app.get('/items/:id', cache.route({ name: 'items', tags: (req) => [`item:${req.params.id}`] }), (req, res) => {
    count();
    res.type('text/plain').send(`item ${req.params.id} run ${++runs}`);
  });
};

/**
 * One instance per Redis URL given, sharing a fresh prefix, each connected and its near-cache live (the channel its
 * invalidations reach the others on).
 */
async function startInstances(urls: readonly string[], extra: object = {}): Promise<CachedApp[]> {
  const prefix = `ro${++prefixes}:`;
  const started: CachedApp[] = [];
  for (const url of urls) {
    const app = await startCachedApp({ ...STEADY, redis: url, prefix, ttl: '60s', ...extra }, routes);
    apps.push(app);
    started.push(app);
  }
  await waitFor(() => started.every((app) => app.cache.tier === 'redis' && app.cache.stats().tier.nearCache === 'live'),
    'every instance on Redis with its near-cache live');
  return started;
}

/** A GET as `SHARED_HOST`; asserts what a user would: answered, correctly, and not slowly. */
async function get(app: CachedApp, path: string): Promise<RawResponse> {
  const res = await request(app.url, path, { headers: { host: SHARED_HOST } });
  assert.equal(res.status, 200, `${path}: status ${res.status}`);
  assert.match(res.body.toString(), new RegExp(`^item ${path.slice('/items/'.length)} run \\d+$`), `${path}: wrong body`);
  assert.ok(res.ms < MAX_LATENCY_MS, `${path} took ${Math.round(res.ms)} ms`);
  return res;
}

/** The X-Cache label of one request per instance, in order. */
async function labels(instances: readonly CachedApp[], path: string): Promise<string[]> {
  const out: string[] = [];
  for (const app of instances) out.push(xCache(await get(app, path)) ?? '-');
  return out;
}

async function health(app: CachedApp): Promise<HealthReport> {
  const res = await fetch(`${app.url}/health`);
  assert.equal(res.status, 200, 'a warn is still 200 (the app is fine)');
  return (await res.json()) as HealthReport;
}

/** The Redis key of `path` as requested with `SHARED_HOST`. */
function keyOf(app: CachedApp, path: string): string {
  return coreOf(app.cache).keys.response(digest(canonicalUrlOf(`http://${SHARED_HOST}${path}`) as string));
}

async function waitForLink(server: RedisServer): Promise<void> {
  await waitFor(async () => (await server.command('INFO', 'replication')).includes('master_link_status:up'),
    `the replica on ${server.port} in sync with its primary`, 10_000, 50);
}

/** Asserts the report is the READONLY warning, in words that match a tier still serving from Redis. */
function assertReadonlyWarning(report: HealthReport): void {
  assert.equal(report.status, 'warn', JSON.stringify(report));
  assert.equal(report.tier, 'redis');
  assert.equal(report.checks['redis:writes']?.[0]?.status, 'warn', 'the refused writes are not a warned check');
  assert.ok(Number(report.checks['redis:writes']?.[0]?.observedValue) > 0, 'no refused writes counted');
  const output = report.output ?? '';
  assert.match(output, /READONLY|read-only replica/i, `the cause is not named: ${output}`);
  assert.match(output, /point the cache at the primary/i, `the fix is not named: ${output}`);
  assert.match(output, /serving from Redis/i, `does not say reads are served from Redis: ${output}`);
  assert.doesNotMatch(output, /serving from the memory tier|Redis is unavailable/i, `speaks of an outage: ${output}`);
}

describe('pointed at a READONLY replica', () => {
  it('a second request is a HIT, the handler ran once, refused writes counted, the tier stays redis', TIMEOUT, async () => {
    const [app] = (await startInstances([replica.url])) as [CachedApp];
    assert.equal(xCache(await get(app, '/items/1')), 'MISS');
    const hit = await get(app, '/items/1');
    assert.equal(xCache(hit), 'HIT');
    assert.equal(hit.body.toString(), 'item 1 run 1');
    for (let i = 0; i < 20; i++) assert.equal(xCache(await get(app, '/items/1')), 'HIT');
    assert.equal(app.handlerRuns(), 1);
    const { tier } = app.cache.stats();
    assert.ok(tier.refusedWrites > 0, 'no refused writes counted');
    assert.equal(tier.state, 'redis');
    assert.equal(tier.breaker, 'closed');
    assert.equal(tier.redisErrors, 0, 'refused writes counted as Redis failures');
    assert.equal(await replica.command('EXISTS', keyOf(app, '/items/1')), '0');
  });

  it('keeps serving from memory for as long as the entry lives, not just for a moment', TIMEOUT, async () => {
    const [app] = (await startInstances([replica.url])) as [CachedApp];
    assert.equal(xCache(await get(app, '/items/long')), 'MISS');
    // Longer than the 5 s a refused entry lives when no invalidation could reach it: with the near-cache live, one can.
    const until = Date.now() + 6_000;
    while (Date.now() < until) {
      assert.equal(xCache(await get(app, '/items/long')), 'HIT');
      await sleep(250);
    }
    assert.equal(app.handlerRuns(), 1);
  });

  it('health says warn: READONLY, reads still from Redis, and the fix (point at the primary)', TIMEOUT, async () => {
    const [app] = (await startInstances([replica.url])) as [CachedApp];
    await get(app, '/items/h');
    // The entry is stored after the response went out.
    await waitFor(() => app.cache.stats().tier.refusedWrites > 0, 'the write to be refused');
    assertReadonlyWarning(await health(app));
    assertReadonlyWarning(await app.cache.health());
  });

  it('health says so before any request has been refused', TIMEOUT, async () => {
    const [app] = (await startInstances([replica.url])) as [CachedApp];
    const report = await health(app);
    assert.equal(report.status, 'warn', JSON.stringify(report));
    assert.equal(report.tier, 'redis');
    assert.match(report.output ?? '', /read-only replica/i, `the cause is not named: ${report.output}`);
    assert.match(report.output ?? '', /point the cache at the primary/i, `the fix is not named: ${report.output}`);
  });

  it('with lock: true, a refused lock is no Redis failure: the tier stays redis, nothing is slow', TIMEOUT, async () => {
    const [app] = (await startInstances([replica.url], { lock: true })) as [CachedApp];
    // Cold URLs at once, as a crawler sends them: each miss asks Redis for the fill lock, and Redis refuses it.
    const cold = Array.from({ length: 30 }, (_, i) => `/items/lock-${i}`);
    const tiers = new Set<string>();
    await Promise.all(cold.map(async (path) => {
      assert.equal(xCache(await get(app, path)), 'MISS');
      tiers.add(app.cache.tier);
    }));
    for (const path of cold) assert.equal(xCache(await get(app, path)), 'HIT');
    assert.equal(app.handlerRuns(), cold.length);
    assert.deepEqual([...tiers], ['redis'], 'refused locks took the cache off Redis');
    const { tier } = app.cache.stats();
    assert.equal(tier.breaker, 'closed');
    assert.equal(tier.redisErrors, 0, 'refused locks counted as Redis failures');
  });

  it('invalidations during traffic leave the tier on redis (none strands it on memory)', TIMEOUT, async () => {
    const [app] = (await startInstances([replica.url])) as [CachedApp];
    const tiers = new Set<string>();
    const until = Date.now() + 2_000;
    const worker = async () => {
      while (Date.now() < until) {
        await get(app, `/items/busy-${Math.floor(Math.random() * 20)}`);
        tiers.add(app.cache.tier);
      }
    };
    const invalidator = async () => {
      while (Date.now() < until) {
        const started = performance.now();
        await app.cache.invalidate({ names: ['items'] });
        assert.ok(performance.now() - started < MAX_LATENCY_MS, 'an invalidation took long');
        tiers.add(app.cache.tier);
        await sleep(10);
      }
    };
    await Promise.all([worker(), worker(), worker(), worker(), invalidator()]);
    assert.deepEqual([...tiers], ['redis'], 'an invalidation during a refused write took the cache off Redis');
    assert.equal(app.cache.stats().tier.redisErrors, 0);
  });

  it('an invalidation that overtakes a refused write: the old response is not kept', TIMEOUT, async () => {
    // A slow link to the replica, so the invalidation is sent while the write is still on its way to be refused.
    const proxy = await startFaultProxy({ port: replica.port });
    try {
      const [app] = (await startInstances([proxy.url])) as [CachedApp];
      proxy.setLatency(100);
      assert.equal(xCache(await get(app, '/items/race')), 'MISS');
      await app.cache.invalidate({ keys: [`http://${SHARED_HOST}/items/race`] });
      const after = await get(app, '/items/race');
      assert.equal(xCache(after), 'MISS', 'the response the invalidation removed was served');
      assert.equal(after.body.toString(), 'item race run 2');
    } finally {
      await closeInstances();
      await proxy.close();
    }
  });

  it("another instance's invalidation that overtakes a refused write: the old response is not kept", TIMEOUT, async () => {
    // The writer's link to the replica is slow, so the other instance's invalidation reaches it (as a published
    // message) while its write is still on its way to be refused.
    const proxy = await startFaultProxy({ port: replica.port });
    try {
      const [writer, other] = (await startInstances([proxy.url, replica.url])) as [CachedApp, CachedApp];
      proxy.setLatency(100);
      const refusedBefore = writer.cache.stats().tier.refusedWrites;
      assert.equal(xCache(await get(writer, '/items/overtaken')), 'MISS');
      await other.cache.invalidate({ keys: [`http://${SHARED_HOST}/items/overtaken`] });
      await waitFor(() => writer.cache.stats().tier.refusedWrites > refusedBefore, 'the write to be refused');
      const after = await get(writer, '/items/overtaken');
      assert.equal(xCache(after), 'MISS', 'the response the other instance invalidated was served');
      assert.equal(after.body.toString(), 'item overtaken run 2');
    } finally {
      await closeInstances();
      await proxy.close();
    }
  });

  for (const [by, what] of [
    ['key', { keys: [`http://${SHARED_HOST}/items/inv`] }],
    ['tag', { tags: ['item:inv'] }],
    ['name', { names: ['items'] }],
  ] as const) {
    it(`an invalidation by ${by} from one instance removes the entry on both; the tier stays redis`, TIMEOUT, async () => {
      const instances = await startInstances([replica.url, replica.url]);
      const [a, b] = instances as [CachedApp, CachedApp];
      assert.deepEqual(await labels(instances, '/items/inv'), ['MISS', 'MISS'], 'each instance holds its own copy');
      assert.deepEqual(await labels(instances, '/items/inv'), ['HIT', 'HIT']);
      const started = performance.now();
      await a.cache.invalidate(what);
      assert.ok(performance.now() - started < MAX_LATENCY_MS, 'the invalidation took long');
      // The other instance hears of it through Redis pub/sub: wait for that, not for a fixed time.
      await waitFor(() => coreOf(b.cache).store.memory.size === 0, 'the other instance to drop its copy');
      assert.deepEqual(await labels(instances, '/items/inv'), ['MISS', 'MISS']);
      assert.deepEqual(await labels(instances, '/items/inv'), ['HIT', 'HIT'], 'the refills are served again');
      assert.equal(a.handlerRuns() + b.handlerRuns(), 4);
      for (const app of instances) {
        assert.equal(app.cache.tier, 'redis', 'stranded on memory after a refused invalidation');
        assert.equal(app.cache.stats().tier.redisErrors, 0);
      }
    });
  }

  it('a lookup answered while the other instance takes in the invalidation keeps no copy of the entry', TIMEOUT, async () => {
    // b's link is slow: its lookup is still under way when a's message arrives, and answers before b has read what to
    // tombstone, so the entry it brings back is not yet known to be gone.
    const proxy = await startFaultProxy({ port: replica.port });
    try {
      const [writer, a, b] = (await startInstances([primary.url, replica.url, proxy.url])) as [CachedApp, CachedApp, CachedApp];
      assert.equal(xCache(await get(writer, '/items/slow')), 'MISS');
      await waitFor(async () => (await replica.command('EXISTS', keyOf(a, '/items/slow'))) === '1', 'the entry replicated');
      proxy.setLatency(100);
      const during = get(b, '/items/slow');
      await a.cache.invalidate({ keys: [`http://${SHARED_HOST}/items/slow`] });
      assert.equal(xCache(await during), 'HIT', 'answered from Redis, as the invalidation was under way');
      await waitFor(async () => xCache(await get(b, '/items/slow')) === 'MISS', 'the slow instance to stop serving the entry');
    } finally {
      await closeInstances();
      await proxy.close();
    }
  });

  it('an entry in Redis (stored through the primary) invalidated from an instance on the replica: gone for both', TIMEOUT, async () => {
    const [writer, a, b] = (await startInstances([primary.url, replica.url, replica.url])) as [CachedApp, CachedApp, CachedApp];
    const readers = [a, b];
    assert.equal(xCache(await get(writer, '/items/shared')), 'MISS');
    await waitFor(async () => (await replica.command('EXISTS', keyOf(a, '/items/shared'))) === '1', 'the entry replicated');
    assert.deepEqual(await labels(readers, '/items/shared'), ['HIT', 'HIT'], 'served from Redis by both readers');
    await a.cache.invalidate({ tags: ['item:shared'] });
    // b is told through pub/sub; its next lookup must not trust the entry the replica still holds.
    await waitFor(async () => xCache(await get(b, '/items/shared')) === 'MISS', 'the other reader to see the invalidation');
    assert.equal(xCache(await get(a, '/items/shared')), 'MISS');
    assert.equal(await replica.command('EXISTS', keyOf(a, '/items/shared')), '1', 'the replica still holds it (it refused the delete)');
    assert.deepEqual(await labels(readers, '/items/shared'), ['HIT', 'HIT'], 'the refills are served');
    assert.equal(a.handlerRuns() + b.handlerRuns(), 2);
    for (const app of readers) assert.equal(app.cache.tier, 'redis');
  });
});

describe('a primary demoted while this instance could not reach it', () => {
  it('an invalidation queued meanwhile neither keeps the cache on memory nor is lost', TIMEOUT, async () => {
    const old = await startRedisServer(SYNC_AT_ONCE);
    const promoted = await startRedisServer({ args: [...SYNC_AT_ONCE.args, '--replicaof', old.host, String(old.port)] });
    const proxy = await startFaultProxy({ port: old.port });
    try {
      await waitForLink(promoted);
      const [app] = (await startInstances([proxy.url])) as [CachedApp];
      assert.equal(xCache(await get(app, '/items/q')), 'MISS');
      await waitFor(async () => (await promoted.command('EXISTS', keyOf(app, '/items/q'))) === '1', 'the entry replicated');

      proxy.refuse(true);
      await waitFor(() => app.cache.tier === 'memory', 'the cache on memory while Redis is out');
      await app.cache.invalidate({ tags: ['item:q'] });
      assert.equal(app.cache.stats().tier.pendingInvalidations, 1, 'the invalidation waits for Redis');
      // The failover: the replica is promoted and the old primary comes back as its replica, entry and all.
      await promoted.command('REPLICAOF', 'NO', 'ONE');
      await old.command('REPLICAOF', promoted.host, String(promoted.port));
      await waitForLink(old);
      assert.equal(await old.command('EXISTS', keyOf(app, '/items/q')), '1');
      proxy.refuse(false);

      await waitFor(() => app.cache.tier === 'redis', 'the cache back on Redis (reads work on a replica)', 10_000);
      assert.equal(app.cache.stats().tier.pendingInvalidations, 0);
      const after = await get(app, '/items/q');
      assert.equal(xCache(after), 'MISS', 'the invalidated entry, still on the replica, was served');
      assert.equal(after.body.toString(), 'item q run 2');
      assert.equal(xCache(await get(app, '/items/q')), 'HIT');
    } finally {
      await closeInstances();
      await proxy.close();
      await promoted.stop();
      await old.stop();
    }
  });
});

describe('a replica promoted after it refused an invalidation', () => {
  it('the entry refilled after the promotion is served by every instance again', TIMEOUT, async () => {
    const old = await startRedisServer(SYNC_AT_ONCE);
    const promoted = await startRedisServer({ args: [...SYNC_AT_ONCE.args, '--replicaof', old.host, String(old.port)] });
    try {
      await waitForLink(promoted);
      const [writer, a, b] = (await startInstances([old.url, promoted.url, promoted.url])) as [CachedApp, CachedApp, CachedApp];
      assert.equal(xCache(await get(writer, '/items/t')), 'MISS');
      await waitFor(async () => (await promoted.command('EXISTS', keyOf(a, '/items/t'))) === '1', 'the entry replicated');
      await writer.close();
      assert.deepEqual(await labels([a, b], '/items/t'), ['HIT', 'HIT']);
      await a.cache.invalidate({ keys: [`http://${SHARED_HOST}/items/t`] });
      await waitFor(async () => xCache(await get(b, '/items/t')) === 'MISS', 'the other instance to see the invalidation');
      assert.equal(xCache(await get(a, '/items/t')), 'MISS');

      await promoted.command('REPLICAOF', 'NO', 'ONE');
      await waitFor(async () => (await a.cache.health()).status === 'pass' && (await b.cache.health()).status === 'pass',
        'both instances to see Redis take writes again', 5_000, 100);
      const refill = await get(a, '/items/t');
      assert.equal(xCache(refill), 'MISS', 'what memory kept while writes were refused goes, to be stored in Redis');
      await waitFor(async () => (await promoted.command('GET', keyOf(a, '/items/t'))).includes(refill.body.toString()), 'the refill in Redis');
      const fromB = await get(b, '/items/t');
      assert.equal(xCache(fromB), 'HIT', 'the other instance did not take the refill from Redis');
      assert.equal(fromB.body.toString(), refill.body.toString());
      assert.equal(xCache(await get(a, '/items/t')), 'HIT');
      assert.equal(xCache(await get(b, '/items/t')), 'HIT');
    } finally {
      await closeInstances();
      await promoted.stop();
      await old.stop();
    }
  });
});

describe('a primary demoted during a failover, then promoted again', () => {
  let demoted: RedisServer;
  let other: RedisServer;

  before(async () => {
    demoted = await startRedisServer(SYNC_AT_ONCE);
    other = await startRedisServer(SYNC_AT_ONCE);
  }, TIMEOUT);

  after(async () => {
    await demoted?.stop();
    await other?.stop();
  }, TIMEOUT);

  it('refused writes are served from memory with a warning; writes resume within seconds of promotion', TIMEOUT, async (t) => {
    const instances = await startInstances([demoted.url, demoted.url]);
    const [a, b] = instances as [CachedApp, CachedApp];
    assert.equal(xCache(await get(a, '/items/before')), 'MISS');
    await waitFor(async () => (await demoted.command('EXISTS', keyOf(a, '/items/before'))) === '1', 'the entry stored while primary');
    assert.equal((await health(a)).status, 'pass');

    await demoted.command('REPLICAOF', other.host, String(other.port));
    await waitForLink(demoted);
    assert.equal(xCache(await get(a, '/items/during')), 'MISS');
    await waitFor(() => a.cache.stats().tier.refusedWrites > 0, 'the demoted primary to refuse the write');
    assert.equal(xCache(await get(a, '/items/during')), 'HIT', 'the refused entry is served from memory');
    assert.equal(await demoted.command('EXISTS', keyOf(a, '/items/during')), '0');
    assertReadonlyWarning(await health(a));
    assert.equal(a.cache.tier, 'redis');

    const promotedAt = Date.now();
    await demoted.command('REPLICAOF', 'NO', 'ONE');
    await waitFor(async () => (await health(a)).status === 'pass', 'health back to pass', 5_000, 100);
    // The entry kept in memory goes so the next fill stores it in Redis, where the other instance finds it.
    await waitFor(async () => {
      await get(a, '/items/during');
      return (await demoted.command('EXISTS', keyOf(a, '/items/during'))) === '1';
    }, '/items/during stored in Redis', 5_000, 100);
    const resumedMs = Date.now() - promotedAt;
    t.diagnostic(`health pass and the entry in Redis ${resumedMs} ms after REPLICAOF NO ONE`);
    assert.ok(resumedMs < 5_000, `writes resumed ${resumedMs} ms after promotion`);
    assert.equal(xCache(await get(b, '/items/during')), 'HIT', 'the other instance reads it from Redis');
    assert.equal(b.handlerRuns(), 0);
    for (const app of instances) assert.equal(app.cache.tier, 'redis');
  });
});
