import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { Agent } from 'node:http';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, afterEach, before, beforeEach, test } from 'node:test';
import { waitFor } from '../helpers/app.js';
import { closeAll, startCachedApp, type CachedApp } from '../helpers/cached-app.js';
import { describeLoad, runLoad, type LoadSummary } from '../helpers/load.js';
import { assertResilient, DEADLINE_MS, LATENCY_MARGIN_MS } from '../helpers/outage.js';
import { useRedisBehindProxy } from '../helpers/redis-behind-proxy.js';
import { SLOW_HANDLER_MS, slowBodyOk, slowRoutes } from '../helpers/slow-routes.js';

// 500 concurrent requests for one cold URL whose handler takes 200 ms: the handler must run once per process, and
// once in all when two processes share Redis with `lock: true`.

/**
 * Slowest acceptable request: the handler's 200 ms, a lookup deadline, the margin, and the time this 2-core machine
 * takes to read, route and answer 500 requests that arrive at once, load generator included (measured 300-900 ms
 * while other suites and benchmarks ran beside). Nothing here may wait out a lock (5 s) or a request timeout (5 s).
 */
const MAX_STAMPEDE_MS = SLOW_HANDLER_MS + DEADLINE_MS + LATENCY_MARGIN_MS + 1000;
/** Every process sees the same Host, as behind a load balancer, so they compute the same cache keys. */
const HOST = { host: 'api.example.test' };

const servers = useRedisBehindProxy();
let app: CachedApp | undefined;
let second: CachedApp | undefined;
let child: ChildProcess | undefined;

afterEach(async () => {
  await closeAll(app, second);
  app = undefined;
  second = undefined;
  if (child && child.exitCode === null) {
    child.stdin?.end();
    const exited = once(child, 'exit');
    const timer = setTimeout(() => child?.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }
  child = undefined;
});

/** One GET with the shared Host; resolves with its X-Cache. */
async function getOnce(url: string, path: string): Promise<string | undefined> {
  const summary = await runLoad({ baseUrl: url, paths: [path], expectBody: slowBodyOk, workers: 1, count: 1, headers: HOST });
  assert.equal(summary.wrongBodies, 0);
  return summary.records[0]?.xCache;
}

/**
 * Opens `requests` keep-alive connections to the server first (through its uncached `/runs`), then sends one request
 * for `path` on each at once, so they really are concurrent rather than spread over the time it takes to connect.
 */
async function stampede(url: string, path: string, requests: number): Promise<LoadSummary> {
  const agent = new Agent({ keepAlive: true, maxSockets: requests });
  try {
    const options = { baseUrl: url, workers: requests, count: requests, timeoutMs: 5000, headers: HOST, agent };
    const warm = await runLoad({ ...options, paths: ['/runs'], expectBody: () => true });
    assert.equal(warm.failures, 0, 'could not open the connections');
    return await runLoad({ ...options, paths: [path], expectBody: slowBodyOk });
  } finally {
    agent.destroy();
  }
}

test('500 concurrent requests for one cold URL run its 200 ms handler once', async (t) => {
  app = await startCachedApp({ redis: servers.proxy.url, redisTimeout: '50ms' }, slowRoutes);
  await waitFor(() => app?.cache.tier === 'redis', 'the cache to serve from Redis', 5000);
  const summary = await stampede(app.url, '/slow/one-process', 500);
  for (const line of describeLoad(summary).split('\n')) t.diagnostic(line);
  t.diagnostic(`handler runs: ${app.handlerRuns()}`);
  assert.equal(summary.count, 500);
  assertResilient(summary, MAX_STAMPEDE_MS);
  assert.equal(app.handlerRuns(), 1);
  // The one run's response is what all 500 got, and it is in Redis for the next request.
  const next = await runLoad({ baseUrl: app.url, paths: ['/slow/one-process'], expectBody: slowBodyOk, workers: 1, count: 1, headers: HOST });
  assert.equal(next.records[0]?.xCache, 'HIT');
  assert.equal(app.handlerRuns(), 1);
});

test('a request whose lookup missed while the first response was being stored joins it, not the handler', async () => {
  const cached = (app = await startCachedApp({ redis: servers.proxy.url, redisTimeout: '50ms' }, slowRoutes));
  await waitFor(() => cached.cache.tier === 'redis', 'the cache to serve from Redis', 5000);
  // 15 ms each way: the second request's lookup is on the wire while the first response's store is.
  servers.proxy.setLatency(15);
  try {
    for (let round = 0; round < 3; round++) {
      const url = `${cached.url}/slow/late-${round}`;
      const runs = cached.handlerRuns();
      const first = fetch(url).then((res) => res.headers.get('x-cache'));
      await sleep(2 * 15 + SLOW_HANDLER_MS - 5);
      const second = fetch(url).then((res) => res.headers.get('x-cache'));
      assert.deepEqual([await first, await second], ['MISS', 'HIT']);
      assert.equal(cached.handlerRuns() - runs, 1, `round ${round}: the handler ran again`);
    }
  } finally {
    servers.proxy.setLatency(0);
  }
});

test('a request whose lookup ran into its deadline until after the first response was stored joins it, not the handler', async () => {
  // 150 ms each way, deadline 200 ms (writes get 800 ms). The first request's lookup times out at 200 ms, its handler
  // ends at 400 ms and its store lands at about 700 ms. The second request, sent at 600 ms, looks up while the store
  // is on the wire and gives up on its lookup at about 800 ms, after the first fill has let go of the key.
  const cached = (app = await startCachedApp({ redis: servers.proxy.url, redisTimeout: '200ms' }, slowRoutes));
  await waitFor(() => cached.cache.tier === 'redis', 'the cache to serve from Redis', 5000);
  servers.proxy.setLatency(150);
  try {
    const path = '/slow/lookup-outlives-fill';
    const first = getOnce(cached.url, path);
    await sleep(600);
    const second = getOnce(cached.url, path);
    assert.deepEqual([await first, await second], ['MISS', 'HIT']);
    assert.equal(cached.handlerRuns(), 1, 'the second request ran the handler again');
    assert.equal(cached.cache.tier, 'redis', 'the circuit opened, so this did not test a lookup that timed out');
  } finally {
    servers.proxy.setLatency(0);
  }
});

test('getOrSet: 500 concurrent calls and a late one while the value is being stored fetch once', async () => {
  app = await startCachedApp({ redis: servers.proxy.url, redisTimeout: '50ms' }, slowRoutes);
  await waitFor(() => app?.cache.tier === 'redis', 'the cache to serve from Redis', 5000);
  const { cache } = app;
  let fetches = 0;
  const fetchValue = async () => {
    fetches++;
    await sleep(SLOW_HANDLER_MS);
    return { answer: 42 };
  };
  const values = await Promise.all(Array.from({ length: 500 }, () => cache.getOrSet('stampede', fetchValue)));
  assert.equal(fetches, 1);
  assert.ok(values.every((v) => v.answer === 42), 'a caller got another value');
  servers.proxy.setLatency(15);
  try {
    const first = cache.getOrSet('stampede-late', fetchValue);
    await sleep(2 * 15 + SLOW_HANDLER_MS - 5);
    const late = cache.getOrSet('stampede-late', fetchValue);
    assert.deepEqual(await Promise.all([first, late]), [{ answer: 42 }, { answer: 42 }]);
    assert.equal(fetches, 2, 'the late call fetched again');
  } finally {
    servers.proxy.setLatency(0);
  }
});

test('getOrSet: a call whose lookup ran into its deadline until after the value was stored gets it without fetching', async () => {
  // The timeline of the HTTP test above: the first call's value lands at about 700 ms, the second call's lookup runs
  // from 600 ms to its 200 ms deadline.
  const cached = (app = await startCachedApp({ redis: servers.proxy.url, redisTimeout: '200ms' }, slowRoutes));
  await waitFor(() => cached.cache.tier === 'redis', 'the cache to serve from Redis', 5000);
  let fetches = 0;
  const fetchValue = async () => {
    fetches++;
    await sleep(SLOW_HANDLER_MS);
    return { answer: fetches };
  };
  servers.proxy.setLatency(150);
  try {
    const first = cached.cache.getOrSet('lookup-outlives-fetch', fetchValue);
    await sleep(600);
    const second = cached.cache.getOrSet('lookup-outlives-fetch', fetchValue);
    assert.deepEqual(await Promise.all([first, second]), [{ answer: 1 }, { answer: 1 }]);
    assert.equal(fetches, 1, 'the second call fetched again');
    assert.equal(cached.cache.tier, 'redis', 'the circuit opened, so this did not test a lookup that timed out');
  } finally {
    servers.proxy.setLatency(0);
  }
});

test('two processes sharing Redis with lock: true run the handler once in all (250 requests each)', async (t) => {
  // The lock is the subject here, not the deadline. A 50 ms deadline is not always met while 500 requests land on two
  // processes on this 2-core machine (seen in CI: the SET NX timed out), and a missed deadline means "fill alone" by
  // design, so the handler ran twice. 500 ms is met here and still ends every request well inside MAX_STAMPEDE_MS.
  const options = { redis: servers.proxy.url, redisTimeout: '500ms', lock: true } as const;
  app = await startCachedApp(options, slowRoutes);
  const other = await startChild(options);
  await waitFor(() => app?.cache.tier === 'redis', 'the cache to serve from Redis', 5000);
  const path = '/slow/two-processes';
  const [here, there] = await Promise.all([stampede(app.url, path, 250), stampede(other, path, 250)]);
  const childRuns = ((await (await fetch(`${other}/runs`)).json()) as { runs: number }).runs;
  t.diagnostic(`this process: ${describeLoad(here).split('\n')[0]}`);
  t.diagnostic(`child process: ${describeLoad(there).split('\n')[0]}`);
  t.diagnostic(`handler runs: ${app.handlerRuns()} here, ${childRuns} in the child`);
  assertResilient(here, MAX_STAMPEDE_MS);
  assertResilient(there, MAX_STAMPEDE_MS);
  assert.equal(app.handlerRuns() + childRuns, 1);
});

test('lock: an instance that wins the lock just after another released it serves the stored entry', async (t) => {
  // A talks to Redis directly, B through 10 ms of latency each way. B's request arrives as A's 200 ms handler ends:
  // B's lookup misses just before A stores, and B's SET NX lands just after A released the lock.
  const latencyMs = 10;
  const a = (app = await startCachedApp({ redis: servers.redis.url, redisTimeout: '50ms', lock: true }, slowRoutes));
  const b = (second = await startCachedApp({ redis: servers.proxy.url, redisTimeout: '50ms', lock: true }, slowRoutes));
  await waitFor(() => a.cache.tier === 'redis' && b.cache.tier === 'redis', 'the cache to serve from Redis', 5000);
  servers.proxy.setLatency(latencyMs);
  try {
    const rounds: string[] = [];
    for (const delayMs of [176, 180, 184, 188, 192]) {
      const path = `/slow/lock-race-${delayMs}`;
      const runs = a.handlerRuns() + b.handlerRuns();
      const errors = a.redisErrors() + b.redisErrors();
      const first = getOnce(a.url, path);
      await sleep(delayMs);
      const [fromA, fromB] = await Promise.all([first, getOnce(b.url, path)]);
      const ran = a.handlerRuns() + b.handlerRuns() - runs;
      rounds.push(`${delayMs} ms: ${fromA}/${fromB}, ${ran} run(s)`);
      // A Redis call that misses its deadline (a lookup, the lock, a store) means "fill alone" by design: only a
      // round in which every call answered in time must run the handler once.
      if (a.redisErrors() + b.redisErrors() === errors) assert.equal(ran, 1, `handler ran ${ran} times for B at ${delayMs} ms`);
    }
    t.diagnostic(rounds.join('; '));
  } finally {
    servers.proxy.setLatency(0);
  }
});

/** Starts `slow-child.ts` with the same cache options; resolves with its base URL once its cache is on Redis. */
async function startChild(options: object): Promise<string> {
  child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/slow-child.ts'], {
    env: { ...process.env, CACHE_OPTIONS: JSON.stringify(options) },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const first = await Promise.race([
    once(lines, 'line').then(([line]) => String(line)),
    once(child, 'exit').then(() => { throw new Error('child app exited before listening'); }),
  ]);
  lines.close();
  const { url, tier } = JSON.parse(first) as { url: string; tier: string };
  assert.equal(tier, 'redis', 'child cache never reached Redis');
  return url;
}
