import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Cluster, Redis } from 'ioredis';
import { coreOf } from '../../src/core.js';
import { canonicalUrlOf } from '../../src/http/keys.js';
import type { ResilientCacheOptions } from '../../src/index.js';
import { nextEvent, redisKeys, request, STEADY, storedKeys, waitFor, xCache } from '../helpers/app.js';
import { closeAll, startCachedApp, type CachedApp, type RouteSetup } from '../helpers/cached-app.js';
import { startLoad, type RequestRecord } from '../helpers/load.js';
import { startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

// Instances sharing Redis each answer hits from their own copy of a Redis entry (the near-cache), and each drops its copy
// the moment any instance changes the entry: once an invalidation resolves on one instance, no instance serves the old
// body. The routes answer a document's version, which every write bumps, so an old body is one with an older version.

/** One Host for every instance: instances with the same prefix and Host compute the same keys. */
const HOST = 'api.test';

/** The data behind the routes: a version per document, bumped by each write. */
class Documents {
  readonly #versions = new Map<string, number>();

  of(id: string): number {
    return this.#versions.get(id) ?? 1;
  }

  bump(id: string): number {
    const version = this.of(id) + 1;
    this.#versions.set(id, version);
    return version;
  }
}

/** `GET /doc/:id` (cached, name `docs`, tags `docs` and `doc:<id>`) answers the version; `PUT /doc/:id` bumps it. */
function documentRoutes(docs: Documents): RouteSetup {
  return (app, cache, count) => {
    app.use(cache);
    app.get('/doc/:id', cache.route({ name: 'docs', tags: (req) => ['docs', `doc:${String(req.params.id)}`] }), (req, res) => {
      count();
      res.json({ id: req.params.id, version: docs.of(String(req.params.id)) });
    });
    app.put('/doc/:id', (req, res) => {
      docs.bump(String(req.params.id));
      res.status(204).end();
    });
  };
}

interface Read {
  readonly version: number;
  readonly xCache: string | undefined;
}

async function read(app: CachedApp, id: string): Promise<Read> {
  const res = await request(app.url, `/doc/${id}`, { headers: { host: HOST } });
  assert.equal(res.status, 200, `GET /doc/${id}: ${res.status} ${res.body.toString()}`);
  return { version: (JSON.parse(res.body.toString()) as { version: number }).version, xCache: xCache(res) };
}

async function put(app: CachedApp, id: string): Promise<void> {
  const res = await request(app.url, `/doc/${id}`, { method: 'PUT', headers: { host: HOST } });
  assert.equal(res.status, 204);
}

/** The Redis key of a document's entry, as every instance computes it. */
function entryKey(app: CachedApp, id: string): string {
  return coreOf(app.cache).requestKeys.ofCanonical(canonicalUrlOf(`http://${HOST}/doc/${id}`) as string).key;
}

function servedFrom(app: CachedApp): { near: number; redis: number; memory: number } {
  return { ...app.cache.stats().tier.servedFrom };
}

/** Reads a document until the instance answers it from its own copy; resolves to the version that copy holds. */
async function holdCopy(app: CachedApp, id: string): Promise<number> {
  let version = 0;
  await waitFor(async () => {
    const before = servedFrom(app).near;
    version = (await read(app, id)).version;
    return servedFrom(app).near > before;
  }, `a near-cache copy of /doc/${id}`);
  return version;
}

async function holdCopies(apps: readonly CachedApp[], id: string, version: number): Promise<void> {
  for (const [i, app] of apps.entries()) assert.equal(await holdCopy(app, id), version, `instance ${i}'s copy of ${id}`);
}

/** Every instance answers `version` for the document, asked right away (no polling). */
async function assertAllServe(apps: readonly CachedApp[], id: string, version: number, after: string): Promise<void> {
  for (const [i, app] of apps.entries()) {
    assert.equal((await read(app, id)).version, version, `instance ${i} right after ${after}`);
  }
}

function nearCacheState(app: CachedApp): string {
  return app.cache.stats().tier.nearCache;
}

async function startInstances(count: number, docs: Documents, options: (i: number) => ResilientCacheOptions, untilLive = true): Promise<CachedApp[]> {
  const apps: CachedApp[] = [];
  try {
    for (let i = 0; i < count; i++) apps.push(await startCachedApp(options(i), documentRoutes(docs)));
    if (untilLive) await everyNearCacheLive(apps);
  } catch (error) {
    await closeAll(...apps);
    throw error;
  }
  return apps;
}

function everyNearCacheLive(apps: readonly CachedApp[], timeoutMs = 5000): Promise<void> {
  return waitFor(() => apps.every((app) => app.cache.tier === 'redis' && nearCacheState(app) === 'live'), 'every near-cache to be live', timeoutMs);
}

/** One way to invalidate a document from one instance; resolves once that instance says it is done. */
type Invalidation = (writer: CachedApp, id: string, docs: Documents) => Promise<void>;

const INVALIDATIONS: ReadonlyArray<readonly [string, Invalidation]> = [
  ['by key', async (writer, id, docs) => {
    docs.bump(id);
    await writer.cache.invalidate({ keys: [`http://${HOST}/doc/${id}`] });
  }],
  ['by tag', async (writer, id, docs) => {
    docs.bump(id);
    await writer.cache.invalidate({ tags: [`doc:${id}`] });
  }],
  ['by name', async (writer, id, docs) => {
    docs.bump(id);
    await writer.cache.invalidate({ names: ['docs'] });
  }],
  ['by an unsafe request', (writer, id) => put(writer, id)],
];

/** Why a body read under load is old: an invalidation of a newer version had resolved before its request started. */
function staleness(record: RequestRecord, writes: ReadonlyArray<{ id: string; version: number; resolvedAt: number; kind: string }>): string | undefined {
  if (record.status !== 200) return undefined;
  const { id, version } = JSON.parse(record.body) as { id: string; version: number };
  const overtaken = writes.filter((write) => write.id === id && write.resolvedAt < record.startedAt && write.version > version);
  const last = overtaken.at(-1);
  if (!last) return undefined;
  return `${record.path} sent ${record.startedAt - last.resolvedAt} ms after the invalidation ${last.kind} to version ${last.version} `
    + `resolved got version ${version} (X-Cache ${record.xCache})`;
}

/** A connection of the test's own, for what the helper's one-shot commands cannot do (MONITOR, CLIENT KILL, INFO). */
function adminOf(target: RedisServer): Redis {
  const admin = new Redis(target.url, { maxRetriesPerRequest: 1 });
  admin.on('error', () => undefined);
  return admin;
}

/** Ids of the connections in CLIENT LIST that match. */
async function clientIds(admin: Redis, type: 'normal' | 'pubsub', match: (line: string) => boolean): Promise<string[]> {
  const list = String(await admin.call('CLIENT', 'LIST', 'TYPE', type));
  return list.split('\n').filter((line) => line.trim() !== '' && match(line)).map((line) => /\bid=(\d+)/.exec(line)?.[1] as string);
}

const isSubscriber = (line: string) => /\bname=erc-near-cache\b/.test(line);

async function killClients(admin: Redis, ids: readonly string[]): Promise<void> {
  assert.ok(ids.length > 0, 'connections to kill');
  for (const id of ids) await admin.client('KILL', 'ID', id);
}

/** Calls per command since the server started (INFO commandstats), e.g. `{ get: 12, ping: 40 }`. */
async function commandCalls(admin: Redis): Promise<Map<string, number>> {
  const info = await admin.info('commandstats');
  return new Map([...info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].map((m) => [m[1] as string, Number(m[2])]));
}

/** Commands sent between two readings, leaving out the near-cache's PINGs and the test's own INFO. */
function commandsBetween(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const sent: Record<string, number> = {};
  for (const [name, calls] of after) {
    const delta = calls - (before.get(name) ?? 0);
    if (delta > 0 && name !== 'ping' && name !== 'info') sent[name] = delta;
  }
  return sent;
}

let server: RedisServer;

before(async () => {
  server = await startRedisServer();
});

after(async () => {
  await server?.stop();
});

for (const count of [2, 3]) {
  describe(`${count} instances sharing Redis, each with a copy`, () => {
    const docs = new Documents();
    let apps: CachedApp[] = [];

    before(async () => {
      // Counters are flushed to Redis every second by default: not within the commands counted below.
      apps = await startInstances(count, docs, () => ({ ...STEADY, redis: server.url, prefix: `shared${count}:`, stats: { flushInterval: '1h' } }));
    });

    after(() => closeAll(...apps));

    for (const [n, [kind, invalidate]] of INVALIDATIONS.entries()) {
      it(`an invalidation ${kind} is seen by the others at once`, async () => {
        const id = `${kind.replace(/\W/g, '')}`;
        await holdCopies(apps, id, 1);
        const runs = apps.map((app) => app.handlerRuns());
        const writer = apps[n % count] as CachedApp;
        await invalidate(writer, id, docs);
        await assertAllServe(apps, id, 2, `an invalidation ${kind}`);
        assert.ok(apps.some((app, i) => app.handlerRuns() > (runs[i] as number)), 'a handler ran for the new version');
        // Refilled: every instance holds a copy of the new version, and the next invalidation reaches it too.
        await holdCopies(apps, id, 2);
        await invalidate(apps[(n + 1) % count] as CachedApp, id, docs);
        await assertAllServe(apps, id, 3, `a second invalidation ${kind}`);
      });
    }

    it('a hit from a copy sends Redis no command, where a hit without the near-cache reads it', async () => {
      const admin = adminOf(server);
      const plain = await startCachedApp({ ...STEADY, redis: server.url, prefix: `shared${count}:`, nearCache: false, stats: { flushInterval: '1h' } },
        documentRoutes(docs));
      try {
        const reader = apps[count - 1] as CachedApp;
        await holdCopy(reader, 'quiet');
        const near = servedFrom(reader).near;
        const before = await commandCalls(admin);
        for (let i = 0; i < 100; i++) assert.equal((await read(reader, 'quiet')).xCache, 'HIT');
        const sent = commandsBetween(before, await commandCalls(admin));
        assert.deepEqual(sent, {}, 'commands sent for 100 near hits');
        assert.equal(servedFrom(reader).near - near, 100);
        await waitFor(() => plain.cache.tier === 'redis', 'the app without near-cache to use Redis');

        const plainBefore = await commandCalls(admin);
        for (let i = 0; i < 100; i++) assert.equal((await read(plain, 'quiet')).xCache, 'HIT');
        const plainSent = commandsBetween(plainBefore, await commandCalls(admin));
        assert.ok((plainSent['get'] ?? 0) >= 100, `GETs for 100 hits without the near-cache: ${JSON.stringify(plainSent)}`);
      } finally {
        admin.disconnect();
        await plain.close();
      }
    });
  });
}

describe('three instances', () => {
  it('getOrSet values: an invalidation by key on one makes the others fetch again at once', async () => {
    const apps = await startInstances(3, new Documents(), () => ({ ...STEADY, redis: server.url, prefix: 'values:' }));
    try {
      let version = 1;
      const fetches = [0, 0, 0];
      const get = (i: number) => (apps[i] as CachedApp).cache.getOrSet('user:1', async () => {
        fetches[i] = (fetches[i] as number) + 1;
        return { version };
      });
      assert.equal((await get(0)).version, 1);
      await storedKeys(server, (apps[0] as CachedApp).valueKey('user:1'));
      // Read from Redis once, then from the copy: neither fetches.
      for (const i of [1, 2, 1, 2]) assert.equal((await get(i)).version, 1);
      assert.deepEqual(fetches, [1, 0, 0]);
      version = 2;
      await (apps[0] as CachedApp).cache.invalidate({ keys: ['user:1'] });
      assert.equal((await get(1)).version, 2);
      assert.equal((await get(2)).version, 2);
      assert.deepEqual(fetches, [1, 1, fetches[2] === 0 ? 0 : 1], 'fetched again after the invalidation');
    } finally {
      await closeAll(...apps);
    }
  });

  it('under concurrent load, no request started after an invalidation resolved gets the old version', async () => {
    const docs = new Documents();
    const apps = await startInstances(3, docs, () => ({ ...STEADY, redis: server.url, prefix: 'load:' }));
    try {
      const ids = ['l0', 'l1', 'l2', 'l3'];
      const paths = ids.map((id) => `/doc/${id}`);
      const nearBefore = apps.map((app) => servedFrom(app).near);
      const loads = apps.map((app) => startLoad({
        baseUrl: app.url, paths, workers: 3, durationMs: 60_000, timeoutMs: 5000, headers: { host: HOST },
        expectBody: (path, body) => body.startsWith(`{"id":"${path.slice('/doc/'.length)}"`),
      }));
      const writes: Array<{ id: string; version: number; resolvedAt: number; kind: string }> = [];
      for (let round = 0; round < 24; round++) {
        const id = ids[round % ids.length] as string;
        const [kind, invalidate] = INVALIDATIONS[round % INVALIDATIONS.length] as readonly [string, Invalidation];
        // Fills under way when the write lands are not what is measured here: let each round's fills settle.
        await waitFor(async () => (await Promise.all(apps.map((app) => read(app, id)))).every((r) => r.version === docs.of(id)),
          `every instance to serve the current /doc/${id}`);
        await invalidate(apps[round % apps.length] as CachedApp, id, docs);
        writes.push({ id, version: docs.of(id), resolvedAt: Date.now(), kind });
      }
      for (const load of loads) load.stop();
      const summaries = await Promise.all(loads.map((load) => load.done));
      const stale: string[] = [];
      for (const [i, summary] of summaries.entries()) {
        assert.equal(summary.failures + summary.serverErrors + summary.wrongBodies, 0, `instance ${i}: failures, 5xx or wrong bodies`);
        for (const record of summary.records) {
          const seen = staleness(record, writes);
          if (seen) stale.push(`instance ${i}: ${seen}`);
        }
      }
      assert.deepEqual(stale.slice(0, 5), [], `${stale.length} old bodies after an invalidation resolved`);
      const requests = summaries.reduce((sum, s) => sum + s.count, 0);
      assert.ok(requests > 300, `only ${requests} requests under load`);
      assert.ok(apps.every((app, i) => servedFrom(app).near - (nearBefore[i] as number) > 50), 'copies served under load');
    } finally {
      await closeAll(...apps);
    }
  });

  it('across expiry and refill: no copy outlives its entry, and refilled copies are invalidated at once', async () => {
    const docs = new Documents();
    const apps = await startInstances(3, docs, () => ({ ...STEADY, redis: server.url, prefix: 'expiry:', ttl: '1s' }));
    const admin = adminOf(server);
    try {
      await holdCopies(apps, 'e', 1);
      docs.bump('e');
      const key = entryKey(apps[0] as CachedApp, 'e');
      assert.equal(await admin.exists(key), 1);
      await waitFor(async () => (await admin.exists(key)) === 0, 'the entry to expire in Redis');
      await assertAllServe(apps, 'e', 2, 'the entry expired');
      await holdCopies(apps, 'e', 2);
      docs.bump('e');
      await (apps[2] as CachedApp).cache.invalidate({ tags: ['doc:e'] });
      await assertAllServe(apps, 'e', 3, 'an invalidation of the refilled entry');
    } finally {
      admin.disconnect();
      await closeAll(...apps);
    }
  });
});

describe('the connections the near-cache depends on', () => {
  let target: RedisServer;
  let admin: Redis;

  before(async () => {
    target = await startRedisServer();
    admin = adminOf(target);
  });

  after(async () => {
    admin?.disconnect();
    await target?.stop();
  });

  it('CLIENT KILL of the subscribers: copies go, none is served or kept until each subscription is back', async () => {
    const docs = new Documents();
    const apps = await startInstances(3, docs, () => ({ ...STEADY, redis: target.url, prefix: 'killsub:' }));
    try {
      await holdCopies(apps, 's', 1);
      // No new connection is let in: the killed subscribers cannot come back until this is undone.
      const connected = Number(/connected_clients:(\d+)/.exec(await admin.info('clients'))?.[1]);
      await admin.config('SET', 'maxclients', String(connected - apps.length));
      await killClients(admin, await clientIds(admin, 'pubsub', isSubscriber));
      // A change Redis reports to no one now: only dropping the copies keeps it from being missed.
      docs.bump('s');
      assert.equal(await admin.del(entryKey(apps[0] as CachedApp, 's')), 1);
      await waitFor(() => apps.every((app) => nearCacheState(app) === 'off'), 'every near-cache to go off');
      for (const [i, app] of apps.entries()) {
        assert.equal(app.memoryEntries(), 0, `instance ${i} holds no copy`);
        const before = servedFrom(app);
        for (let n = 0; n < 5; n++) assert.equal((await read(app, 's')).version, 2, `instance ${i}`);
        const now = servedFrom(app);
        assert.equal(now.near, before.near, `instance ${i} served no copy while unsubscribed`);
        assert.equal(app.memoryEntries(), 0, `instance ${i} kept no copy while unsubscribed`);
      }
      await (apps[1] as CachedApp).cache.invalidate({ tags: ['doc:s'] });
      await admin.config('SET', 'maxclients', '10000');
      await everyNearCacheLive(apps, 10_000);
      await holdCopies(apps, 's', 2);
      docs.bump('s');
      await (apps[2] as CachedApp).cache.invalidate({ names: ['docs'] });
      await assertAllServe(apps, 's', 3, 'an invalidation once subscribed again');
    } finally {
      await admin.config('SET', 'maxclients', '10000');
      await closeAll(...apps);
    }
  });

  it('CLIENT KILL of the command connections: copies go, and coherence is back once they reconnect', async () => {
    const docs = new Documents();
    const apps = await startInstances(3, docs, () => ({ ...STEADY, redis: target.url, prefix: 'killcmd:' }));
    try {
      await holdCopies(apps, 'c', 1);
      const own = String(await admin.client('ID'));
      const degraded = apps.map((app) => nextEvent(app.cache, 'degraded'));
      await killClients(admin, await clientIds(admin, 'normal', (line) => !line.includes(`id=${own} `)));
      // Changed while no connection of theirs tracks anything: no instance hears of it.
      docs.bump('c');
      assert.equal(await admin.del(entryKey(apps[0] as CachedApp, 'c')), 1);
      await Promise.all(degraded);
      await everyNearCacheLive(apps, 10_000);
      await assertAllServe(apps, 'c', 2, 'the command connections came back');
      await holdCopies(apps, 'c', 2);
      await put(apps[1] as CachedApp, 'c');
      await assertAllServe(apps, 'c', 3, 'an unsafe request once reconnected');
    } finally {
      await closeAll(...apps);
    }
  });
});

describe('Redis frozen while an invalidation is queued', () => {
  it('the others have dropped their copies before the invalidating call resolves', async () => {
    const frozen = await startRedisServer();
    const docs = new Documents();
    // The default redisTimeout: an invalidation then waits 1 s for a frozen Redis before it is queued.
    const apps = await startInstances(3, docs, () => ({ redis: frozen.url, prefix: 'frozen:' }));
    try {
      await holdCopies(apps, 'f', 1);
      docs.bump('f');
      // The hardest moment: every subscriber has just had a ping answered, so its silence shows as late as can be.
      await freezeRightAfterPings(frozen, apps.length);
      const started = performance.now();
      await (apps[0] as CachedApp).cache.invalidate({ tags: ['doc:f'] });
      const waited = performance.now() - started;
      assert.ok(waited < 2000, `invalidate() took ${Math.round(waited)} ms with Redis frozen`);
      await assertAllServe(apps, 'f', 2, 'the invalidation resolved with Redis frozen');

      const recovered = nextEvent((apps[0] as CachedApp).cache, 'recovered', 10_000);
      frozen.resume();
      await recovered;
      // Once the invalidating instance has applied its queue, every instance serves the new version.
      await assertAllServe(apps, 'f', 2, 'the invalidating instance recovered');
    } finally {
      frozen.resume();
      await closeAll(...apps);
      await frozen.stop();
    }
  });
});

describe('Redis frozen, and the invalidating instance already off it', () => {
  it('an invalidation queued at once still resolves only after the others have dropped their copies', async () => {
    const frozen = await startRedisServer();
    const docs = new Documents();
    const apps = await startInstances(3, docs, () => ({ redis: frozen.url, prefix: 'queued:' }));
    const [invalidating] = apps as [CachedApp];
    try {
      await holdCopies(apps, 'q', 1);
      docs.bump('q');
      await freezeRightAfterPings(frozen, apps.length);
      // Lookups of entries it holds no copy of time out against the frozen Redis, and open its circuit.
      const degraded = nextEvent(invalidating.cache, 'degraded', 5000);
      for (let i = 0; invalidating.cache.tier === 'redis' && i < 20; i++) await read(invalidating, `warm-${i}`);
      await degraded;
      // Queued without asking Redis, so it could resolve at once, while the others' leases still run.
      await invalidating.cache.invalidate({ tags: ['doc:q'] });
      await assertAllServe(apps, 'q', 2, 'an invalidation queued with the circuit open resolved');
    } finally {
      frozen.resume();
      await closeAll(...apps);
      await frozen.stop();
    }
  });
});

/**
 * Pauses the server the moment each of its `subscribers` near-cache subscribers has had a PING answered (MONITOR shows
 * each as it runs): the freeze then shows as late as it can to every near-cache.
 */
async function freezeRightAfterPings(target: RedisServer, subscribers: number): Promise<void> {
  const admin = adminOf(target);
  try {
    const list = String(await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub'));
    const addresses = new Set(list.split('\n').filter(isSubscriber).map((line) => /\baddr=(\S+)/.exec(line)?.[1]));
    assert.equal(addresses.size, subscribers);
    const monitor = await admin.monitor();
    await new Promise<void>((resolve) => {
      const pinged = new Set<string>();
      monitor.on('monitor', (_time: string, args: string[], source: string) => {
        if (String(args[0]).toLowerCase() !== 'ping' || !addresses.has(source)) return;
        pinged.add(source);
        if (pinged.size < addresses.size) return;
        target.pause();
        resolve();
      });
    });
    monitor.disconnect();
  } finally {
    admin.disconnect();
  }
}

describe('a Redis that refuses writes (OOM, noeviction)', () => {
  it('a refused entry is served from memory, removed by another instance\'s invalidation, and health warns', async () => {
    const full = await startRedisServer({ args: ['--maxmemory', '1mb', '--maxmemory-policy', 'noeviction'] });
    const admin = adminOf(full);
    const docs = new Documents();
    const apps = await startInstances(2, docs, () => ({ ...STEADY, redis: full.url, prefix: 'oom:' }));
    const [holder, other] = apps as [CachedApp, CachedApp];
    try {
      await fill(admin);
      assert.equal((await read(holder, 'o')).xCache, 'MISS');
      await waitFor(() => holder.cache.stats().tier.refusedWrites >= 1, 'Redis to refuse the store');
      const hit = await read(holder, 'o');
      assert.deepEqual([hit.xCache, hit.version, holder.handlerRuns()], ['HIT', 1, 1]);
      const health = await holder.cache.health();
      assert.equal(health.status, 'warn');
      assert.equal(health.checks['redis:writes']?.[0]?.status, 'warn');

      // Only the holder has the entry, so only the message the other instance publishes can reach it: published before
      // the invalidation resolves, as a DEL would be.
      docs.bump('o');
      await other.cache.invalidate({ tags: ['doc:o'] });
      assert.equal((await read(holder, 'o')).version, 2, 'the holder dropped its entry on the other\'s invalidation by tag');
      assert.equal(holder.handlerRuns(), 2);
      await waitFor(async () => (await read(holder, 'o')).xCache === 'HIT', 'the refused entry to be kept again');
      await put(other, 'o');
      assert.equal((await read(holder, 'o')).version, 3, 'the holder dropped its entry on the other\'s unsafe request');
    } finally {
      admin.disconnect();
      await closeAll(...apps);
      await full.stop();
    }
  });
});

/** Writes filler keys (outside the cache's prefix) until Redis refuses a write. */
async function fill(admin: Redis): Promise<void> {
  const chunk = 'x'.repeat(256 * 1024);
  for (let i = 0; i < 64; i++) {
    try {
      await admin.set(`filler:${i}`, chunk);
    } catch (error) {
      assert.match(String(error), /OOM/);
      return;
    }
  }
  assert.fail('Redis took 16 MiB under maxmemory 1mb');
}

describe('memory.maxEntries bounds the copies', () => {
  it('an instance holds at most maxEntries copies, and invalidations reach held and evicted ones alike', async () => {
    const docs = new Documents();
    const apps = await startInstances(2, docs, (i) => ({ ...STEADY, redis: server.url, prefix: 'bounded:', memory: { maxEntries: i === 1 ? 5 : 10_000 } }));
    const [writer, bounded] = apps as [CachedApp, CachedApp];
    try {
      const ids = Array.from({ length: 20 }, (_, i) => `b${i}`);
      for (const id of ids) await holdCopy(writer, id);
      for (const id of ids) assert.equal((await read(bounded, id)).version, 1);
      assert.ok(bounded.memoryEntries() <= 5, `${bounded.memoryEntries()} entries in memory`);
      // Least recently used first: a second pass in the same order finds none of them still held.
      const before = servedFrom(bounded);
      for (const id of ids) assert.equal((await read(bounded, id)).xCache, 'HIT');
      const pass = servedFrom(bounded);
      assert.deepEqual([pass.near - before.near, pass.redis - before.redis], [0, 20]);
      for (const id of ids.slice(-5)) assert.equal((await read(bounded, id)).xCache, 'HIT');
      assert.equal(servedFrom(bounded).near - pass.near, 5, 'the last five are held');
      assert.ok(bounded.memoryEntries() <= 5);

      for (const id of ['b0', 'b19']) docs.bump(id);
      await writer.cache.invalidate({ tags: ['doc:b0', 'doc:b19'] });
      assert.equal((await read(bounded, 'b19')).version, 2, 'a held copy');
      assert.equal((await read(bounded, 'b0')).version, 2, 'an evicted copy');
    } finally {
      await closeAll(...apps);
    }
  });
});

describe('a three-master Redis Cluster', () => {
  let cluster: RedisCluster;
  const clients: Cluster[] = [];
  let apps: CachedApp[] = [];
  const docs = new Documents();

  before(async () => {
    cluster = await startRedisCluster();
    apps = await startInstances(3, docs, () => {
      const client = new Cluster([...cluster.startupNodes]);
      client.on('error', () => undefined);
      clients.push(client);
      return { ...STEADY, redis: client, prefix: 'ncl:' };
    }, false);
  });

  after(async () => {
    await closeAll(...apps);
    await Promise.allSettled(clients.map((client) => client.quit()));
    await cluster?.stop();
  });

  it('tracks every master from the start, before any request has reached them', async () => {
    await everyNearCacheLive(apps);
  });

  it('copies of entries on every master are invalidated at once, by key, tag, name and unsafe request', async () => {
    const ids = Array.from({ length: 8 }, (_, i) => `k${i}`);
    for (const id of ids) await holdCopies(apps, id, 1);
    const perNode = await Promise.all(cluster.nodes.map(async (node) => (await redisKeys(node, 'ncl:r:*')).length));
    assert.equal(perNode.filter((n) => n > 0).length, 3, `entries on every master: ${perNode.join(', ')}`);
    for (const [n, [kind, invalidate]] of INVALIDATIONS.entries()) {
      const id = ids[n] as string;
      const version = docs.of(id) + 1;
      await invalidate(apps[n % apps.length] as CachedApp, id, docs);
      await assertAllServe(apps, id, version, `an invalidation ${kind}`);
    }
    // Invalidating by name removed every entry: all are read fresh, and their copies kept again.
    for (const id of ids.slice(4)) await holdCopies(apps, id, docs.of(id));
    docs.bump('k7');
    await (apps[2] as CachedApp).cache.invalidate({ tags: ['doc:k7'] });
    await assertAllServe(apps, 'k7', docs.of('k7'), 'an invalidation by tag after the refill');
  });
});
