import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NameStats, StatsReport } from '../../src/index.js';
import { counters, outcomes, sendAll, type Planned } from '../helpers/observability-app.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { startChildApp, type ChildApp } from '../helpers/spawn-child-app.js';

// Two app processes sharing one Redis report the same shared totals. Two real node processes behind
// no balancer, one Redis, one prefix: each counts its own traffic, and both /stats answers carry the same
// all-instance figures, equal to the sum of what each counted.

let redis: RedisServer;
const apps: ChildApp[] = [];
before(async () => {
  redis = await startRedisServer();
});
after(async () => {
  await Promise.allSettled(apps.map((app) => app.stop()));
  await redis?.stop();
});

async function stats(app: ChildApp): Promise<StatsReport> {
  const res = await fetch(`${app.base}/stats`, { headers: { accept: 'application/json' } });
  assert.equal(res.status, 200);
  return await res.json() as StatsReport;
}

/** `count` requests: `/items/0..ids-1` and, every fourth, the `route(false)` endpoint `/now`. */
function plan(count: number, ids: number, offset: number): Planned[] {
  return Array.from({ length: count }, (_, i) => (i % 4 === 3
    ? { path: '/now', name: '/now' }
    : { path: `/items/${(i * 7 + offset) % ids}`, name: '/items/:id' }));
}

function sum(a: NameStats | undefined, b: NameStats | undefined): Record<string, number> {
  const x = counters(a) ?? {};
  const y = counters(b) ?? {};
  const out: Record<string, number> = {};
  for (const key of new Set([...Object.keys(x), ...Object.keys(y)])) out[key] = (x[key] ?? 0) + (y[key] ?? 0);
  return out;
}

test('two processes on one Redis report identical shared totals, equal to the sum of their local ones', async () => {
  const env = { REDIS_URL: redis.url, CACHE_PREFIX: 'obs-two:', FLUSH_INTERVAL: '200ms' };
  const [a, b] = await Promise.all([startChildApp(env), startChildApp(env)]) as [ChildApp, ChildApp];
  apps.push(a, b);
  for (const app of [a, b]) {
    for (const end = Date.now() + 10_000; (await stats(app)).tier.state !== 'redis';) {
      assert.ok(Date.now() < end, `${app.base} did not reach Redis`);
      await sleep(50);
    }
  }

  // Both take traffic at once, over overlapping keys: B hits entries A stored and the other way round.
  const [seenA, seenB] = await Promise.all([sendAll(a.base, plan(600, 12, 0), 20), sendAll(b.base, plan(400, 12, 5), 20)]);
  for (const seen of [seenA, seenB]) for (const [name, s] of seen) assert.equal(s.notOk, 0, `${name}: non-200 answers`);

  // Each flushes every 200 ms; poll both until their shared figures agree with each other and with the local sums.
  let reports: [StatsReport, StatsReport] = [await stats(a), await stats(b)];
  const agreed = (r: [StatsReport, StatsReport]) => r[0].shared !== null && r[1].shared !== null
    && JSON.stringify(counters(r[0].shared.totals)) === JSON.stringify(counters(r[1].shared.totals))
    && JSON.stringify(counters(r[0].shared.totals)) === JSON.stringify(sum(r[0].totals, r[1].totals));
  const started = Date.now();
  while (!agreed(reports) && Date.now() - started < 10_000) {
    await sleep(100);
    reports = [await stats(a), await stats(b)];
  }
  const [ra, rb] = reports;
  const waited = Date.now() - started;

  // Local figures: each instance counted exactly its own requests.
  assert.equal(outcomes(ra.totals), 600, 'A counted its 600 requests');
  assert.equal(outcomes(rb.totals), 400, 'B counted its 400 requests');
  assert.equal(ra.names['/now']?.bypasses, 150);
  assert.equal(rb.names['/now']?.bypasses, 100);
  assert.notEqual(ra.instance.id, rb.instance.id);

  // Shared figures: identical in both answers, and the sum of the two local ones, name by name.
  assert.ok(ra.shared && rb.shared, 'both answers carry shared figures');
  assert.deepEqual(Object.keys(ra.shared.names).sort(), ['/items/:id', '/now'], 'only app routes are counted');
  assert.deepEqual(counters(ra.shared.totals), counters(rb.shared.totals), 'A and B report different shared totals');
  assert.deepEqual(counters(ra.shared.totals), sum(ra.totals, rb.totals), 'shared totals != A + B');
  for (const name of ['/items/:id', '/now']) {
    assert.deepEqual(counters(ra.shared.names[name]), counters(rb.shared.names[name]), `shared ${name} differs`);
    assert.deepEqual(counters(ra.shared.names[name]), sum(ra.names[name], rb.names[name]), `shared ${name} != A + B`);
  }
  assert.equal(outcomes(ra.shared.totals), 1000);
  const items = ra.shared.names['/items/:id'] as NameStats;
  assert.equal(items.hitRate, Math.round(((items.hits + items.stale) / items.total) * 10000) / 10000);

  // The per-name route gives one name's figures with all instances' beside them.
  const one = await (await fetch(`${b.base}/stats/${encodeURIComponent('/items/:id')}`)).json() as NameStats & { shared: NameStats };
  assert.equal(one.name, '/items/:id');
  assert.equal(outcomes(one), outcomes(rb.names['/items/:id'] as NameStats));
  assert.deepEqual(counters(one.shared), counters(items));
  console.log(`# shared after ${waited} ms: ${JSON.stringify(counters(ra.shared.totals))}`);
});
