import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort } from '../helpers/free-port.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

// The example app as a user runs it: `node example-app/server.js` in a child process, importing the built package by
// its name, once on the memory tier alone and once with REDIS_URL pointing at a redis-server of our own.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SERVER = join(ROOT, 'example-app', 'server.js');
const START_TIMEOUT_MS = 20_000;

interface ExampleApp {
  readonly base: string;
  /** Everything the app printed so far (stdout and stderr). */
  output(): string;
  /** Resolves once the output contains `text`; rejects after `ms`. */
  waitForOutput(text: string, ms: number): Promise<void>;
  /** SIGTERM, then waits for the exit; resolves with the exit code. */
  stop(): Promise<number | null>;
}

async function startExampleApp(redisUrl: string | undefined): Promise<ExampleApp> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return await launch(port, redisUrl);
    } catch (error) {
      // The free port can be taken before the app binds it (test files run in parallel); try another.
      if (!/EADDRINUSE/.test(String(error)) || attempt >= 3) throw error;
    }
  }
}

async function launch(port: number, redisUrl: string | undefined): Promise<ExampleApp> {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port) };
  delete env['REDIS_URL'];
  delete env['DEBUG'];
  if (redisUrl) env['REDIS_URL'] = redisUrl;
  const child = spawn(process.execPath, [SERVER], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  running.add(child);
  void exited.then(() => running.delete(child));

  const waitForOutput = async (text: string, ms: number) => {
    const deadline = Date.now() + ms;
    while (!output.includes(text)) {
      if (child.exitCode !== null) throw new Error(`example app exited (code ${child.exitCode}) before printing ${JSON.stringify(text)}:\n${output}`);
      if (Date.now() > deadline) throw new Error(`example app did not print ${JSON.stringify(text)} within ${ms} ms:\n${output}`);
      await sleep(20);
    }
  };
  try {
    await waitForOutput('example app listening on', START_TIMEOUT_MS);
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    throw error;
  }
  return {
    base: `http://127.0.0.1:${port}`,
    output: () => output,
    waitForOutput,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Children still running, killed if a test fails before stopping its app. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

interface Reply {
  readonly status: number;
  readonly xCache: string | null;
  readonly age: string | null;
  readonly body: unknown;
}

async function request(base: string, path: string, init?: RequestInit): Promise<Reply> {
  const res = await fetch(base + path, init);
  const text = await res.text();
  const body: unknown = res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text;
  return { status: res.status, xCache: res.headers.get('x-cache'), age: res.headers.get('age'), body };
}

function put(base: string, path: string, body: unknown): Promise<Reply> {
  return request(base, path, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

/**
 * The first request is a MISS; a repeat is a HIT once the entry is stored. With Redis the store lands just after the
 * response has gone out (the miss is never delayed by it), so a repeat sent at once may still miss: poll briefly.
 */
async function assertMissThenHit(base: string, path: string): Promise<Reply> {
  const first = await request(base, path);
  assert.equal(first.status, 200, `GET ${path}`);
  assert.equal(first.xCache, 'MISS', `first GET ${path}`);
  for (let i = 0; i < 40; i++) {
    const again = await request(base, path);
    assert.equal(again.status, 200);
    assert.deepEqual(again.body, first.body, `GET ${path}: a hit has the body of the miss`);
    if (again.xCache === 'HIT') {
      assert.match(again.age ?? '', /^\d+$/, 'a hit carries Age');
      return again;
    }
    assert.equal(again.xCache, 'MISS');
    await sleep(25);
  }
  assert.fail(`GET ${path} never became a HIT`);
}

/** The behaviour the README promises of the example app, the same in both modes. */
function exampleAppBehaviour(app: () => ExampleApp): void {
  test('GET /products and GET /products/:id: MISS, then HIT', async () => {
    await assertMissThenHit(app().base, '/products');
    const product = await assertMissThenHit(app().base, '/products/1');
    assert.deepEqual(product.body, { id: '1', name: 'Espresso cup', basePrice: 9.5 });
  });

  test('GET /time is never cached: BYPASS every time', async () => {
    for (let i = 0; i < 3; i++) {
      const reply = await request(app().base, '/time');
      assert.equal(reply.status, 200);
      assert.equal(reply.xCache, 'BYPASS');
      assert.equal(reply.age, null);
    }
  });

  test('PUT /products/:id invalidates the product and the list: MISS with the new data after it', async () => {
    const { base } = app();
    await assertMissThenHit(base, '/products/2');
    await request(base, '/products'); // make sure the list is cached too
    assert.equal((await request(base, '/products')).xCache, 'HIT');

    const updated = await put(base, '/products/2', { name: 'Stovetop moka pot' });
    assert.equal(updated.status, 200);
    assert.deepEqual(updated.body, { id: '2', name: 'Stovetop moka pot', basePrice: 34 });

    const item = await request(base, '/products/2');
    assert.equal(item.xCache, 'MISS');
    assert.deepEqual(item.body, updated.body);
    const list = await request(base, '/products');
    assert.equal(list.xCache, 'MISS');
    assert.ok((list.body as { name: string }[]).some((p) => p.name === 'Stovetop moka pot'), 'the list shows the new name');
  });

  test('PUT with a bad body is refused and invalidates nothing', async () => {
    const { base } = app();
    await assertMissThenHit(base, '/products/4');
    const refused = await put(base, '/products/4', { basePrice: 'free' });
    assert.equal(refused.status, 400);
    assert.equal((await request(base, '/products/4')).xCache, 'HIT');
  });

  test('GET /products/:id/price: the quote is cached with getOrSet and dropped when the product changes', async () => {
    const { base } = app();
    const first = await request(base, '/products/3/price');
    assert.equal(first.status, 200);
    assert.equal(first.xCache, 'BYPASS', 'the response itself is never cached');
    assert.deepEqual({ ...(first.body as object), quotedAt: undefined }, { id: '3', amount: 70.8, currency: 'EUR', quotedAt: undefined });
    await eventually(async () => {
      await request(base, '/products/3/price');
      const figures = (await request(base, '/stats/price')).body as { hits: number; misses: number };
      // With Redis the value is stored just after it is returned, so a quick repeat may miss once more.
      assert.ok(figures.misses >= 1 && figures.hits >= 1, `price figures: ${JSON.stringify(figures)}`);
    });

    assert.equal((await put(base, '/products/3', { basePrice: 60 })).status, 200);
    const requoted = await request(base, '/products/3/price');
    assert.equal((requoted.body as { amount: number }).amount, 72);
  });

  test('GET /health and GET /stats answer', async () => {
    const { base } = app();
    const health = await request(base, '/health');
    assert.equal(health.status, 200);
    assert.equal((health.body as { status: string }).status, 'pass');
    assert.equal(health.xCache, null, 'health answers are never cached');
    const stats = await request(base, '/stats');
    assert.equal(stats.status, 200);
    const names = Object.keys((stats.body as { names: object }).names);
    for (const name of ['products', 'product', 'price', '/time']) assert.ok(names.includes(name), `stats name ${name} in ${names.join(', ')}`);
  });
}

/** Retries `check` until it passes or `ms` runs out (the last failure is thrown). */
async function eventually(check: () => Promise<void>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(50);
    }
  }
}

before(() => {
  assert.ok(existsSync(join(ROOT, 'dist', 'index.js')), 'the example app runs the built package: run `npm run build` first (`npm test` does)');
});

describe('example app without REDIS_URL', () => {
  let app: ExampleApp;
  before(async () => {
    app = await startExampleApp(undefined);
  });
  after(async () => {
    await app?.stop();
  });

  test('says at start-up that it caches in memory only', () => {
    assert.match(app.output(), /REDIS_URL is not set.*memory only/);
  });

  exampleAppBehaviour(() => app);

  test('the health report names the memory-only tier', async () => {
    assert.equal(((await request(app.base, '/health')).body as { tier: string }).tier, 'memory-only');
  });

  test('SIGTERM closes it cleanly', async () => {
    assert.equal(await app.stop(), 0);
    assert.match(app.output(), /SIGTERM: closing/);
  });
});

describe('example app with REDIS_URL', () => {
  let redis: RedisServer;
  let app: ExampleApp;
  before(async () => {
    redis = await startRedisServer();
    app = await startExampleApp(redis.url);
    // The client connects in the background; until then the cache serves from memory.
    await eventually(async () => {
      assert.equal(((await request(app.base, '/health')).body as { tier: string }).tier, 'redis');
    }, 10_000);
  });
  after(async () => {
    await app?.stop();
    await redis?.stop();
  });

  test('says at start-up that it caches in Redis', () => {
    assert.match(app.output(), new RegExp(`Redis at redis://127\\.0\\.0\\.1:${redis.port}`));
  });

  exampleAppBehaviour(() => app);

  test('the responses are stored in Redis', async () => {
    const keys = await redis.command('KEYS', 'rc:r:*');
    assert.ok(keys.split('\n').filter(Boolean).length >= 3, `response keys in Redis: ${keys}`);
  });

  test('logs when Redis goes and comes back, and keeps answering meanwhile', async () => {
    await redis.kill();
    await app.waitForOutput('Redis is not answering', 10_000);
    const during = await request(app.base, '/products/1');
    assert.equal(during.status, 200);
    assert.equal(((await request(app.base, '/health')).body as { status: string }).status, 'warn');

    await redis.restart();
    await app.waitForOutput('Redis is back', 15_000);
    await assertMissThenHit(app.base, '/products/3');
  });

  test('SIGTERM closes it cleanly', async () => {
    assert.equal(await app.stop(), 0);
    assert.match(app.output(), /SIGTERM: closing/);
  });
});
