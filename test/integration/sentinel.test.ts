import assert from 'node:assert/strict';
import { after, before, test, type TestContext } from 'node:test';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { coreOf } from '../../src/core.js';
import { canonicalUrlOf } from '../../src/http/keys.js';
import { digest } from '../../src/stores/key-space.js';
import { request, STEADY, waitFor, xCache, type RawResponse } from '../helpers/app.js';
import { closeAll, itemPaths, startCachedApp, type CachedApp, type RouteSetup } from '../helpers/cached-app.js';
import { describeLoad, runLoad, startLoad, type LoadSummary, type RequestRecord } from '../helpers/load.js';
import { assertResilient } from '../helpers/outage.js';
import { startRedisSentinel, type Address, type Failover, type RedisSentinelSetup } from '../helpers/redis-sentinel.js';
import type { RedisServer } from '../helpers/redis-server.js';

// The `redis` option given Sentinel options, or an ioredis Redis built with them, against a real primary, replica and
// three Sentinels. The primary is SIGKILLed under load: every request must be answered, from memory while the
// Sentinels fail over, and the cache must come back on the promoted replica, where two instances share entries, the
// fill lock and the shared counters. The tests after the failover use the instances that lived through it. A fill lock
// the failover carried over to the new primary, its release lost with the old one, holds up no request; a Sentinel
// frozen during the failover holds up neither requests nor the way back to the new primary, for the client the package
// creates from Sentinel options as for one given `sentinelCommandTimeout`.

/** No request may take longer than this, failover or not. */
const MAX_LATENCY_MS = 1000;
/** Longest wait, once a Sentinel names the new primary, for the cache to serve from it. */
const RECOVERY_BOUND_MS = 15_000;
const WORKERS = 8;
/** Both instances send this Host, so they compute the same cache keys. */
const SHARED_HOST = 'shared.test';
/** A hung step fails its test instead of the whole run. */
const TIMEOUT = { timeout: 60_000 };

let setup: RedisSentinelSetup;
/**
 * Instances on the Sentinel options, same prefix, made by the failover test: `plain` and `locking` (`lock: true`) take
 * the load, `idle` (`lock: true`) idles through the failover. The tests after it use `locking` and `idle`.
 */
let plain: CachedApp | undefined;
let locking: CachedApp | undefined;
let idle: CachedApp | undefined;
/** Set by the failover test: where the Sentinels moved the primary. */
let promoted: RedisServer | undefined;
let stampedeRuns = 0;

before(async () => {
  setup = await startRedisSentinel();
}, TIMEOUT);

after(async () => {
  await closeAll(plain, locking, idle);
  await setup?.stop();
}, TIMEOUT);

function sentinelOptions(of = setup): { sentinels: Address[]; name: string } {
  return { sentinels: [...of.sentinels], name: of.name };
}

/**
 * `/items/:id` is cached; `/fresh/:id` is looked up every time and never stored (no-store); `/slow/:id` and `/held/:id`
 * are slow, each under its own name.
 */
const routes: RouteSetup = (app, cache, count) => {
  app.use(cache);
  app.get('/items/:id', (req, res) => {
    count();
    res.type('text/plain').send(`item ${req.params.id}`);
  });
  app.get('/fresh/:id', (req, res) => {
    res.set('Cache-Control', 'no-store').type('text/plain').send(`fresh ${req.params.id}`);
  });
  app.get('/slow/:id', cache.route({ name: 'stampede' }), async (req, res) => {
    const run = ++stampedeRuns;
    await sleep(200);
    res.type('text/plain').send(`slow ${req.params.id} run ${run}`);
  });
  app.get('/held/:id', cache.route({ name: 'held' }), async (req, res) => {
    await sleep(300);
    res.type('text/plain').send(`held ${req.params.id}`);
  });
};

function bodyOk(path: string, body: string): boolean {
  const [, route, id] = path.split('/');
  return body === `${route === 'items' ? 'item' : route} ${id}`;
}

test('Sentinel options: MISS then HIT, the entry on the primary (and replicated)', TIMEOUT, async () => {
  const app = await startCachedApp({ redis: sentinelOptions(), prefix: 'opt:', ...STEADY }, routes);
  try {
    await waitFor(() => app.cache.tier === 'redis', 'the cache to reach the primary through the Sentinels');
    const [primary, replica] = setup.nodes as [RedisServer, RedisServer];
    assert.equal((await setup.primaryAddress()).port, primary.port);
    assert.equal(xCache(await request(app.url, '/items/1')), 'MISS');
    await waitFor(async () => (await primary.command('EXISTS', app.responseKey('/items/1'))) === '1', 'the entry on the primary');
    assert.equal(xCache(await request(app.url, '/items/1')), 'HIT');
    await waitFor(async () => (await replica.command('EXISTS', app.responseKey('/items/1'))) === '1', 'the entry on the replica');
  } finally {
    await app.close();
  }
});

test('an ioredis Redis built with Sentinel options: MISS then HIT on the primary; close() leaves the client open', TIMEOUT, async () => {
  const client = new Redis(sentinelOptions());
  const app = await startCachedApp({ redis: client, prefix: 'own:', ...STEADY }, routes);
  try {
    await waitFor(() => app.cache.tier === 'redis', 'the cache to reach the primary through the Sentinels');
    const primary = await setup.primary();
    assert.equal(xCache(await request(app.url, '/items/2')), 'MISS');
    await waitFor(async () => (await primary.command('EXISTS', app.responseKey('/items/2'))) === '1', 'the entry on the primary');
    assert.equal(xCache(await request(app.url, '/items/2')), 'HIT');
    await app.close();
    assert.equal(client.status, 'ready');
    assert.equal(await client.exists(app.responseKey('/items/2')), 1);
  } finally {
    await closeAll(app);
    client.disconnect();
  }
});

test('primary SIGKILLed under load: every request answered, memory during the failover, back on the new primary', TIMEOUT, async (t) => {
  const options = { redis: sentinelOptions(), prefix: 'fo:', stats: { flushInterval: '100ms' } } as const;
  plain = await startCachedApp(options, routes);
  locking = await startCachedApp({ ...options, lock: true }, routes);
  idle = await startCachedApp({ ...options, lock: true }, routes);
  const run = await killPrimaryUnderLoad({ plain, locking, idle });
  const { failover, events, summary } = run;
  promoted = setup.nodes.find((node) => node.port === failover?.primary.port);
  const degradedAt = events.at('plain degraded');
  const memoryAt = events.at('plain tier memory');
  const recoveredAt = events.at('plain tier redis') ?? Infinity;
  const firstRedisHit = summary.records.find((r: RequestRecord) => r.startedAt >= recoveredAt && r.xCache === 'HIT');
  const since = (at: number | undefined) => (at === undefined || !Number.isFinite(at) ? '-' : String(Math.round(at - run.killedAt)));
  t.diagnostic(`timeline (ms after the kill): kill 0, degraded ${since(degradedAt)}, tier memory ${since(memoryAt)}, `
    + `sentinel names new primary ${since(failover?.at)}, all sentinels agree ${since(failover?.agreedAt)}, `
    + `tier redis again ${since(recoveredAt)}, first Redis hit ${since(firstRedisHit?.endedAt)}`);
  report(t, run);

  assertResilient(summary, MAX_LATENCY_MS);
  assert.ok((summary.phases['before']?.xCache['HIT'] ?? 0) > 0, 'no HITs before the kill');
  assert.ok(degradedAt !== undefined && memoryAt !== undefined, `the cache never left Redis (events: ${events.describe(run.killedAt)})`);
  assert.ok(failover, 'the Sentinels did not fail over');
  assert.ok(promoted, 'the new primary is not the replica');
  const memoryHits = summary.records.filter((r) => r.xCache === 'HIT' && r.startedAt >= degradedAt && r.endedAt <= recoveredAt);
  assert.ok(memoryHits.length > 0, 'no HITs from memory while Redis was out');
  assert.ok(recoveredAt - failover.at <= RECOVERY_BOUND_MS,
    `not back on Redis within ${RECOVERY_BOUND_MS} ms of the failover (events: ${events.describe(run.killedAt)})`);
  assert.ok(firstRedisHit, 'no HIT after the cache came back to Redis');
  await assertServedFrom(plain, promoted, itemPaths(20));

  await t.test('with lock: true, no request waits on a fill lock the failover carried to the new primary', () => {
    const { held } = run;
    assert.ok(!run.inherited.startsWith('none'), `the new primary inherited no fill lock, so none was waited on: ${run.inherited}`);
    assert.ok(held && held.status === 200 && held.ms < MAX_LATENCY_MS, `the URL whose fill the kill cut short took ${held?.ms} ms`);
    assertResilient(run.lockingSummary, MAX_LATENCY_MS);
  });
});

test('after the failover, one instance\'s entries are hits for the other', TIMEOUT, async () => {
  assert.ok(locking && idle && promoted, 'needs the failover test');
  await waitFor(() => idle?.cache.tier === 'redis' && locking?.cache.tier === 'redis', 'both instances on Redis', RECOVERY_BOUND_MS);
  for (const [writer, reader, path] of [[locking, idle, '/items/from-locking'], [idle, locking, '/items/from-idle']] as const) {
    assert.equal(xCache(await shared(writer, path)), 'MISS');
    await waitFor(async () => (await promoted?.command('EXISTS', sharedKey(writer, path))) === '1', `${path} on the new primary`);
    const hit = await shared(reader, path);
    assert.equal(xCache(hit), 'HIT', `${path} written by one instance was not a hit for the other`);
    assert.equal(hit.body.toString(), `item ${path.slice('/items/'.length)}`);
  }
});

test('after the failover, the fill lock runs a stampede\'s handler once across both instances; shared counters add up', TIMEOUT, async () => {
  assert.ok(locking && idle && promoted, 'needs the failover test');
  const [first, second] = [locking, idle];
  const runsBefore = stampedeRuns;
  const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => shared(i % 2 === 0 ? first : second, '/slow/cold')));
  assert.ok(answers.every((res) => res.status === 200), `statuses: ${answers.map((res) => res.status).join(', ')}`);
  assert.equal(stampedeRuns - runsBefore, 1, `the handler ran ${stampedeRuns - runsBefore} times for one cold URL`);
  assert.equal(new Set(answers.map((res) => res.body.toString())).size, 1, 'the instances answered differently');

  // 'stampede' is counted only after the failover, so every count of it went to the new primary.
  await second.cache.collectStats();
  const report = await first.cache.collectStats();
  const local = [first.cache.stats().names['stampede'], second.cache.stats().names['stampede']];
  const sharedFigures = report.shared?.names['stampede'];
  assert.ok(sharedFigures, 'no shared figures for the stampede');
  for (const field of ['total', 'hits', 'misses', 'stores'] as const) {
    const sum = local.reduce((n, figures) => n + (figures?.[field] ?? 0), 0);
    assert.equal(sharedFigures[field], sum, `shared ${field} ${sharedFigures[field]} != ${sum}, the instances' own`);
  }
  assert.equal(sharedFigures.total, 20);
});

test('a Sentinel frozen (SIGSTOP) when the primary dies: requests stay fast, the client skips it', TIMEOUT, async (t) => {
  // Its own setup: the one above has no replica left to promote. A frozen Sentinel accepts connections (the kernel
  // does) and answers nothing, so asking it for the primary waits for as long as `sentinelCommandTimeout` allows.
  const own = await startRedisSentinel();
  const bounded = await startCachedApp({ redis: { ...sentinelOptions(own), sentinelCommandTimeout: 500 }, prefix: 'fz:' }, routes);
  const unbounded = await startCachedApp({ redis: sentinelOptions(own), prefix: 'fz:' }, routes);
  try {
    await waitFor(() => bounded.cache.tier === 'redis' && unbounded.cache.tier === 'redis', 'both caches on Redis');
    own.pauseSentinel(0);
    const old = await own.primaryAddress();
    const killedAt = Date.now();
    await own.killPrimary();
    const back = new Map<CachedApp, number>();
    let slowest = 0;
    let failover: Failover | undefined;
    void own.waitForFailover(old).then((done) => void (failover = done), () => undefined);
    while (Date.now() - killedAt < 2 * RECOVERY_BOUND_MS && (!failover || Date.now() - failover.at < RECOVERY_BOUND_MS)) {
      for (const app of [bounded, unbounded]) {
        const res = await request(app.url, '/items/frozen');
        slowest = Math.max(slowest, res.ms);
        assert.equal(res.status, 200);
        if (app.cache.tier === 'redis' && failover && !back.has(app)) back.set(app, Date.now() - killedAt);
      }
      if (back.size === 2) break;
      await sleep(50);
    }
    t.diagnostic(`ms after the kill: failover ${failover ? failover.at - killedAt : '-'}, back on Redis with `
      + `sentinelCommandTimeout ${back.get(bounded) ?? '-'}, without ${back.get(unbounded) ?? '-'}; slowest request ${Math.round(slowest)} ms`);
    assert.ok(failover, 'the two Sentinels left did not fail over');
    assert.ok(slowest < MAX_LATENCY_MS, `a request took ${Math.round(slowest)} ms`);
    assert.ok(back.has(bounded), 'with sentinelCommandTimeout, the cache did not come back on the new primary');
    await t.test('without sentinelCommandTimeout, the client the package creates comes back too', () => {
      assert.ok(back.has(unbounded), `not back on Redis ${RECOVERY_BOUND_MS} ms after the failover`);
    });
  } finally {
    own.resumeSentinel(0);
    await closeAll(bounded, unbounded);
    await own.stop();
  }
});

/** A request to `app` as `SHARED_HOST`, so both instances key it alike. */
function shared(app: CachedApp, path: string): Promise<RawResponse> {
  return request(app.url, path, { headers: { host: SHARED_HOST } });
}

function sharedKey(app: CachedApp, path: string): string {
  return coreOf(app.cache).keys.response(digest(canonicalUrlOf(`http://${SHARED_HOST}${path}`) as string));
}

/**
 * Each path is in the new primary and answers HIT from it: the tier stays 'redis', no lookup fails over to memory,
 * and the primary counts a keyspace hit per request.
 */
async function assertServedFrom(app: CachedApp, primary: RedisServer, paths: readonly string[]): Promise<void> {
  const keyspaceHits = async () => Number(/keyspace_hits:(\d+)/.exec(await primary.command('INFO', 'stats'))?.[1]);
  const errors = app.redisErrors();
  const hitsBefore = await keyspaceHits();
  for (const path of paths) {
    assert.equal(await primary.command('EXISTS', app.responseKey(path)), '1', `no entry for ${path} on the new primary`);
    assert.equal(xCache(await request(app.url, path)), 'HIT', `${path} did not HIT`);
  }
  assert.equal(app.cache.tier, 'redis');
  assert.equal(app.redisErrors(), errors, 'a lookup failed over to memory');
  assert.ok((await keyspaceHits()) - hitsBefore >= paths.length, 'the lookups did not reach the new primary');
}

/** What {@link killPrimaryUnderLoad} saw. */
interface FailoverRun {
  readonly killedAt: number;
  readonly failover: Failover | undefined;
  readonly events: Events;
  /** The load on `plain`, and on `locking`. */
  readonly summary: LoadSummary;
  readonly lockingSummary: LoadSummary;
  /** The fill locks the new primary held when the Sentinels named it: all from the old primary. */
  readonly inherited: string;
  /** The URL whose fill on `locking` the kill cut short, asked again once `locking` was back on Redis. */
  readonly held: RawResponse | undefined;
  readonly maxStallMs: number;
}

/**
 * Load on `plain` and `locking` (cached and uncached paths) through four phases: before, failover (the primary
 * SIGKILLed until a Sentinel names the new one), recovering (until `plain` serves from Redis), after (1.5 s).
 */
async function killPrimaryUnderLoad(apps: Record<'plain' | 'locking' | 'idle', CachedApp>): Promise<FailoverRun> {
  await waitFor(() => Object.values(apps).every((app) => app.cache.tier === 'redis'), 'the caches on Redis');
  await Promise.all([warmUp(apps.plain), warmUp(apps.locking)]);
  const paths = [...itemPaths(20), ...Array.from({ length: 10 }, (_, i) => `/fresh/${i}`)];
  const events = new Events();
  for (const [label, app] of Object.entries(apps)) events.watch(label, app);
  const stalls = monitorEventLoopDelay({ resolution: 10 });
  stalls.enable();
  // Half the workers each; the long timeout measures a held request instead of cutting it off.
  const loads = [apps.plain, apps.locking].map((app) => startLoad({ baseUrl: app.url, paths, expectBody: bodyOk,
    workers: WORKERS / 2, durationMs: 60_000, timeoutMs: 6000, phase: 'before' }));
  const mark = (phase: string) => loads.forEach((load) => load.mark(phase));
  let failover: Failover | undefined;
  let inherited = '';
  let held: RawResponse | undefined;
  try {
    await sleep(1500);
    // A fill under way on `locking` when the primary dies: its lock has reached the replica, its release never will.
    const fill = request(apps.locking.url, '/held/1');
    await sleep(100);
    mark('failover');
    events.add('kill');
    failover = await setup.waitForFailover(await setup.killPrimary());
    const promotedNode = setup.nodes.find((node) => node.port === failover?.primary.port);
    // No cache has written to the new primary yet (they are on memory): any lock there came from the old one.
    inherited = `${await lockTtls(promotedNode)} (tiers then: ${Object.values(apps).map((app) => app.cache.tier).join(', ')})`;
    mark('recovering');
    await waitFor(() => apps.plain.cache.tier === 'redis', 'plain on the new primary', RECOVERY_BOUND_MS, 10).catch(() => undefined);
    mark('after');
    const ended = sleep(1500);
    await fill;
    await waitFor(() => apps.locking.cache.tier === 'redis', 'locking on the new primary', RECOVERY_BOUND_MS, 10).catch(() => undefined);
    held = await request(apps.locking.url, '/held/1');
    await ended;
  } finally {
    events.stop();
    stalls.disable();
    loads.forEach((load) => load.stop());
  }
  const [summary, lockingSummary] = await Promise.all(loads.map((load) => load.done)) as [LoadSummary, LoadSummary];
  return { killedAt: events.at('kill') ?? Date.now(), failover, events, summary, lockingSummary, inherited, held,
    maxStallMs: stalls.max / 1e6 };
}

function report(t: TestContext, run: FailoverRun): void {
  t.diagnostic(`events: ${run.events.describe(run.killedAt)}; longest event-loop stall ${Math.round(run.maxStallMs)} ms`);
  t.diagnostic(`fill locks the new primary inherited, ms left when the Sentinels named it: ${run.inherited}; the URL whose `
    + `fill the kill cut short, asked again once 'locking' was back: ${run.held?.status} in ${Math.round(run.held?.ms ?? NaN)} ms`);
  for (const [label, figures] of [['plain', run.summary], ['lock: true', run.lockingSummary]] as const) {
    for (const line of describeLoad(figures).split('\n')) t.diagnostic(`${label} ${line}`);
  }
}

/** Takes a fresh process's cold-code latency out of the figures (see warmUp in outage.ts). */
async function warmUp(app: CachedApp): Promise<void> {
  const warm = await runLoad({ baseUrl: app.url, paths: itemPaths(WORKERS, 'warm-up-'), expectBody: bodyOk, workers: WORKERS,
    count: 25 * WORKERS, timeoutMs: 5000 });
  assert.equal(warm.serverErrors + warm.failures + warm.wrongBodies, 0, `warm-up failed\n${describeLoad(warm)}`);
}

/** What the caches did, stamped with wall-clock times: events, and each change of `cache.tier` (sampled every 10 ms). */
class Events {
  readonly #list: { at: number; what: string }[] = [];
  readonly #samplers: NodeJS.Timeout[] = [];

  add(what: string): void {
    this.#list.push({ at: Date.now(), what });
  }

  watch(label: string, app: CachedApp): void {
    app.cache.on('degraded', () => this.add(`${label} degraded`));
    app.cache.on('recovered', () => this.add(`${label} recovered`));
    let tier: string = app.cache.tier;
    this.#samplers.push(setInterval(() => {
      if (app.cache.tier !== tier) this.add(`${label} tier ${(tier = app.cache.tier)}`);
    }, 10));
  }

  stop(): void {
    this.#samplers.forEach(clearInterval);
  }

  /** When `what` first happened. */
  at(what: string): number | undefined {
    return this.#list.find((event) => event.what === what)?.at;
  }

  describe(zero: number): string {
    return this.#list.map((event) => `${event.at - zero} ${event.what}`).join(', ');
  }
}

/** The ms each fill lock on `node` has left, e.g. `2071, 2080`, or `none`. */
async function lockTtls(node: RedisServer | undefined): Promise<string> {
  if (!node) return 'none';
  const keys = (await node.command('KEYS', '*:lock')).split('\n').filter(Boolean);
  const ttls = await Promise.all(keys.map((key) => node.command('PTTL', key)));
  return ttls.join(', ') || 'none';
}
