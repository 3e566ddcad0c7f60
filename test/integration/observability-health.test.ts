import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import type { HealthReport, StatsReport } from '../../src/index.js';
import { startObservedApp, type ObservedApp } from '../helpers/observability-app.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { startChildApp, type ChildApp } from '../helpers/spawn-child-app.js';

// Health answers 200/warn within its bound while Redis is frozen and 200/pass after; a password in the
// Redis URL never shows in any output; `debug` namespaces print only when enabled, and nothing per request without.

const SECRET = 's3cr3t-pw';
/** The health code budgets 1 s for Redis; the answer must come within this. */
const HEALTH_BOUND_MS = 1500;

/** A redis-server where both the default user and user `app` need the password. */
async function startPasswordRedis(): Promise<{ server: RedisServer; url: string }> {
  const server = await startRedisServer();
  await server.command('ACL', 'SETUSER', 'app', 'on', `>${SECRET}`, '~*', '&*', '+@all');
  await server.command('CONFIG', 'SET', 'requirepass', SECRET);
  return { server, url: `redis://app:${SECRET}@127.0.0.1:${server.port}` };
}

interface Answer {
  status: number;
  type: string;
  text: string;
  ms: number;
}

async function get(base: string, path: string, accept = 'application/json'): Promise<Answer> {
  const started = performance.now();
  const res = await fetch(`${base}${path}`, { headers: { accept }, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type') ?? '', text, ms: performance.now() - started };
}

async function health(base: string, path = '/health'): Promise<Answer & { body: HealthReport }> {
  const answer = await get(base, path);
  assert.match(answer.type, /^application\/health\+json/, `${path} Content-Type`);
  return { ...answer, body: JSON.parse(answer.text) as HealthReport };
}

async function poll<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 8_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(value)}`);
    await sleep(100);
  }
}

function assertNoSecret(where: string, text: string): void {
  assert.ok(text.length > 0, `${where}: empty output`);
  assert.ok(!text.includes(SECRET), `${where} shows the Redis password:\n${text.slice(Math.max(0, text.indexOf(SECRET) - 200), text.indexOf(SECRET) + 50)}`);
}

test('health: pass with Redis, warn (or 503 when asked) within its bound while Redis is frozen, pass again after; no password anywhere', async () => {
  const { server, url } = await startPasswordRedis();
  let app: ObservedApp | undefined;
  try {
    app = await startObservedApp({ redis: url, prefix: 'obs-health:' });
    const registry = new Registry();
    app.cache.metrics(registry);
    const { base } = app;
    const outputs = async (when: string) => {
      assertNoSecret(`${when}: health JSON`, (await get(base, '/health')).text);
      assertNoSecret(`${when}: stats JSON`, (await get(base, '/stats')).text);
      assertNoSecret(`${when}: dashboard HTML`, (await get(base, '/stats', 'text/html')).text);
      assertNoSecret(`${when}: metrics`, await registry.metrics());
    };

    const up = await poll(() => health(base), (h) => h.body.status === 'pass', 'health to pass');
    assert.equal(up.status, 200);
    assert.equal(up.body.tier, 'redis', 'connected with the password');
    for (const name of ['redis:responseTime', 'redis:readWrite', 'redis:circuit', 'memory:entries', 'memory:bytes']) {
      const check = up.body.checks[name]?.[0];
      assert.ok(check, `check ${name} missing: ${up.text}`);
      assert.equal(check.status, 'pass', name);
      assert.ok(!Number.isNaN(Date.parse(check.time)), `${name}.time is a date`);
    }
    assert.equal(typeof up.body.checks['redis:responseTime']?.[0]?.observedValue, 'number');
    assert.equal(up.body.checks['redis:responseTime']?.[0]?.observedUnit, 'ms');
    assert.equal((await health(base, '/health-strict')).status, 200, 'warnAs503 answers 200 on pass');
    assert.equal((await health(base, '/health/ready')).status, 200);
    const live = await health(base, '/health/live');
    assert.deepEqual([live.status, live.body.status], [200, 'pass']);
    for (let i = 0; i < 5; i++) assert.equal((await get(base, `/items/${i}`)).status, 200);
    await outputs('Redis up');

    // Frozen: the process is stopped, its socket accepts and answers nothing.
    server.pause();
    let frozen: Awaited<ReturnType<typeof health>>;
    let strict: Awaited<ReturnType<typeof health>>;
    try {
      frozen = await health(base);
      strict = await health(base, '/health-strict');
      const strictReady = await health(base, '/health-strict/ready');
      const liveFrozen = await health(base, '/health/live');
      const page = await get(base, '/items/1');
      await outputs('Redis frozen');
      assert.equal(strictReady.status, 503, 'warnAs503: /ready answers 503 on warn');
      assert.equal(liveFrozen.status, 200, '/live answers 200 while Redis is frozen');
      assert.equal(page.status, 200, 'the app still answers');
    } finally {
      server.resume();
    }
    assert.equal(frozen.status, 200, `health while frozen: ${frozen.text}`);
    assert.equal(frozen.body.status, 'warn');
    assert.ok(frozen.ms < HEALTH_BOUND_MS, `health took ${frozen.ms.toFixed(0)} ms while Redis was frozen`);
    assert.equal(frozen.body.checks['redis:readWrite']?.[0]?.status, 'warn');
    assert.deepEqual([strict.status, strict.body.status], [503, 'warn'], 'warnAs503 answers 503 on warn');
    assert.ok(strict.ms < HEALTH_BOUND_MS, `strict health took ${strict.ms.toFixed(0)} ms`);

    const back = await poll(() => health(base), (h) => h.body.status === 'pass', 'health to pass after resume');
    assert.equal(back.status, 200);
    assert.equal((await health(base, '/health-strict')).status, 200);

    // Unreachable: killed. Errors now carry the address; never the password.
    await server.kill();
    for (let i = 0; i < 10; i++) assert.equal((await get(base, `/items/${i}`)).status, 200);
    const down = await poll(() => health(base), (h) => h.body.status === 'warn' && h.body.tier === 'memory', 'health to warn with Redis down');
    assert.ok(down.ms < HEALTH_BOUND_MS, `health took ${down.ms.toFixed(0)} ms with Redis down`);
    await outputs('Redis down');
    const report = JSON.parse((await get(base, '/stats')).text) as StatsReport;
    assert.equal(report.tier.state, 'memory');

    // Closed: the cache cannot serve at all.
    await app.cache.close();
    const closed = await health(base);
    assert.deepEqual([closed.status, closed.body.status], [503, 'fail']);
    assert.equal((await health(base, '/health/live')).status, 200, '/live is about the process, not the cache');
  } finally {
    await app?.close();
    await server.stop();
  }
});

test('debug namespaces: Redis lines only when enabled, nothing without DEBUG, and never the password', async () => {
  const { server, url } = await startPasswordRedis();
  const children: ChildApp[] = [];
  try {
    const env = { REDIS_URL: url, CACHE_PREFIX: 'obs-debug:', FLUSH_INTERVAL: '200ms' };
    const [all, redisOnly, quiet] = await Promise.all([
      startChildApp({ ...env, DEBUG: 'express-resilient-cache:*' }),
      startChildApp({ ...env, DEBUG: 'express-resilient-cache:redis' }),
      startChildApp(env),
    ]) as [ChildApp, ChildApp, ChildApp];
    children.push(all, redisOnly, quiet);
    for (const child of children) {
      await poll(async () => JSON.parse((await get(child.base, '/stats')).text) as StatsReport,
        (r) => r.tier.state === 'redis', `${child.base} to reach Redis`);
    }
    const traffic = async (child: ChildApp) => {
      for (let i = 0; i < 30; i++) assert.equal((await get(child.base, i % 5 === 4 ? '/now' : `/items/${i % 6}`)).status, 200);
    };
    await Promise.all(children.map(traffic));
    assert.equal(quiet.stderr(), '', 'printed something without DEBUG while Redis was up');

    await server.kill();
    await Promise.all(children.map(traffic));
    const outputs: Record<string, string> = {};
    for (const child of children) {
      await poll(async () => JSON.parse((await get(child.base, '/health')).text) as HealthReport, (h) => h.status === 'warn',
        `${child.base} health to warn`);
      outputs[`${child.base} health`] = (await get(child.base, '/health')).text;
      outputs[`${child.base} stats`] = (await get(child.base, '/stats')).text;
      outputs[`${child.base} dashboard`] = (await get(child.base, '/stats', 'text/html')).text;
      outputs[`${child.base} metrics`] = (await get(child.base, '/metrics')).text;
    }
    // Let reconnect attempts, breaker probes and failed flushes log for a while.
    await sleep(1500);
    await Promise.all(children.map(traffic));

    const allLog = all.stderr();
    assert.match(allLog, /express-resilient-cache:redis /, 'DEBUG=express-resilient-cache:* shows redis lines');
    assert.match(allLog, /express-resilient-cache:breaker /, 'DEBUG=express-resilient-cache:* shows breaker lines');
    assert.match(allLog, new RegExp(`127\\.0\\.0\\.1:${server.port}|ECONNREFUSED|closed`), 'the log says what failed');

    const redisLog = redisOnly.stderr();
    assert.match(redisLog, /express-resilient-cache:redis /, 'DEBUG=express-resilient-cache:redis shows redis lines');
    const otherNamespaces = redisLog.split('\n').filter((line) => /express-resilient-cache:(?!redis )\w+/.test(line));
    assert.deepEqual(otherNamespaces, [], 'only the enabled namespace prints');

    assert.equal(quiet.stderr(), '', 'printed something without DEBUG while Redis was down');

    for (const child of children) outputs[`${child.base} stderr`] = child.stderr();
    for (const [where, text] of Object.entries(outputs)) {
      if (where.endsWith('stderr') && text === '') continue;
      assertNoSecret(where, text);
    }
    console.log(`# stderr lines: all=${allLog.split('\n').length} redis-only=${redisLog.split('\n').length} quiet=0`);
  } finally {
    await Promise.allSettled(children.map((child) => child.stop()));
    await server.stop();
  }
});
