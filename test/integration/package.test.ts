/**
 * Installs the packed tarball, as a user would, into fresh ES module, CommonJS and TypeScript projects, and serves one
 * cached route from each; runs the README quick start on Express 5 and, in a project of its own, on Express 4 (which
 * also type-checks against Express 4's types). Catches what tests against src/ cannot: a wrong `exports` map or `files`
 * list, a dependency left in devDependencies, a peer range npm refuses, .d.ts files that do not resolve under
 * `nodenext`, a build that `require()` cannot load, a deprecated Express API.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The whole file: pack (builds dist) plus four installs and runs on a noisy 2-core machine. */
const BUDGET_MS = 170_000;
const PACK_TIMEOUT_MS = 90_000;
const INSTALL_TIMEOUT_MS = 60_000;
const RUN_TIMEOUT_MS = 30_000;

interface RepoPackage {
  name: string;
  devDependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
}

/**
 * Environment for child npm processes. Under `npm test` npm exports its own context (`npm_config_local_prefix`
 * among it), which would point a child `npm install` back at this repository instead of the temp project.
 */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_(package_|lifecycle_|command$|config_local_prefix$)/i.test(key) || key === 'INIT_CWD') continue;
    // A plain `npm install` must accept our peer range: no setting that would let a conflict through.
    if (/^npm_config_(legacy_peer_deps|force)$/i.test(key)) continue;
    env[key] = value;
  }
  // Never let the parent's NODE_OPTIONS (tsx's loader, say) change how the installed package is loaded.
  delete env['NODE_OPTIONS'];
  return env;
}

function tail(text: string, lines = 40): string {
  const all = text.trimEnd().split('\n');
  return (all.length > lines ? ['…', ...all.slice(-lines)] : all).join('\n');
}

/** Runs a command; on failure throws an error naming the step, with the command's stderr and stdout. */
function run(step: string, command: string, args: readonly string[], cwd: string, timeoutMs: number): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, env: childEnv(), timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 32 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (!error) return resolve({ stdout, stderr });
        const why = error.killed ? `did not finish within ${timeoutMs / 1000} s` : `exited with ${String(error.code ?? error.signal)}`;
        reject(new Error(`${step} failed: \`${command} ${args.join(' ')}\` in ${cwd} ${why}\n`
          + `--- stderr ---\n${tail(stderr) || '(empty)'}\n--- stdout ---\n${tail(stdout) || '(empty)'}`));
      });
  });
}

/** Writes a project's files and installs the tarball plus `dependencies` into it. */
async function project(root: string, name: string, files: Record<string, string>, tarball: string, dependencies: string[]): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  for (const [file, text] of Object.entries(files)) await writeFile(join(dir, file), text);
  await run(`npm install into the ${name} project`, 'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', '--no-package-lock', '--loglevel=error', tarball, ...dependencies],
    dir, INSTALL_TIMEOUT_MS);
  return dir;
}

/**
 * A tiny app, the same in both module systems: one route through the cache, asked twice over HTTP, and the stats
 * dashboard (whose page, stylesheet and scripts are files read from dist/dashboard/). It prints one JSON line with
 * what it saw, so the test can assert and show a useful diff.
 */
function appSource(importLine: string, closing: string): string {
  return `${importLine}

const cache = resilientCache({ ttl: '30s' });
let calls = 0;
const app = express();
app.use(cache);
app.get('/hello', (req, res) => {
  calls++;
  res.json({ hello: 'world', n: calls });
});
app.use('/stats', statsRouter(cache));
const server = app.listen(0, '127.0.0.1', async () => {
  const base = 'http://127.0.0.1:' + server.address().port;
  const seen = [];
  try {
    for (let i = 0; i < 2; i++) {
      const res = await fetch(base + '/hello');
      seen.push({ status: res.status, xCache: res.headers.get('x-cache'), body: await res.text() });
    }
    const page = await fetch(base + '/stats/', { headers: { accept: 'text/html' } });
    const html = await page.text();
    const inside = (tag) => html.slice(html.indexOf('<' + tag + '>'), html.indexOf('</' + tag + '>'));
    const dashboard = {
      status: page.status,
      type: page.headers.get('content-type'),
      csp: page.headers.get('content-security-policy'),
      heading: inside('h1').slice(4),
      style: inside('style').includes('.panel {'),
      script: inside('script').includes('startDashboard();'),
    };
    let configError = null;
    try {
      resilientCache({ tll: '1s' });
    } catch (error) {
      configError = { isConfigError: error instanceof CacheConfigError, message: error.message };
    }
    console.log(JSON.stringify({ seen, calls, configError, tier: cache.tier, dashboard }));
  } finally {
    server.close();
    await cache.close();
  }
});
${closing}`;
}

/** What both apps must print. */
function assertAppOutput(stdout: string): void {
  const line = stdout.trim().split('\n').at(-1) ?? '';
  let report: {
    seen: Array<{ status: number; xCache: string | null; body: string }>;
    calls: number;
    configError: { isConfigError: boolean; message: string } | null;
    tier: string;
    dashboard: { status: number; type: string | null; csp: string | null; heading: string; style: boolean; script: boolean };
  };
  try {
    report = JSON.parse(line) as typeof report;
  } catch {
    assert.fail(`the app printed no JSON report; stdout was:\n${stdout}`);
  }
  assert.deepEqual(report.seen.map((r) => [r.status, r.xCache]), [[200, 'MISS'], [200, 'HIT']], stdout);
  assert.equal(report.seen[1]?.body, report.seen[0]?.body, 'the HIT replays the MISS body');
  assert.deepEqual(JSON.parse(report.seen[0]?.body ?? 'null'), { hello: 'world', n: 1 });
  assert.equal(report.calls, 1, 'the handler ran once');
  assert.equal(report.tier, 'memory-only');
  assert.ok(report.configError?.isConfigError, 'CacheConfigError is exported and thrown for a bad option');
  assert.match(report.configError?.message ?? '', /did you mean `ttl`/);
  const { dashboard } = report;
  assert.deepEqual([dashboard.status, dashboard.heading], [200, 'Cache stats'], 'the stats router serves its dashboard');
  assert.match(dashboard.type ?? '', /^text\/html/);
  assert.match(dashboard.csp ?? '', /script-src 'sha256-[\w+/]+=*'; style-src 'sha256-[\w+/]+=*'/);
  assert.ok(dashboard.style, 'the page inlines dist/dashboard/dashboard.css');
  assert.ok(dashboard.script, 'the page inlines the scripts from dist/dashboard/');
}

/**
 * The README quick start, as written there (the data functions filled in), plus the health and stats routers. It asks
 * itself over HTTP what the README promises and prints one JSON line with what it saw.
 */
const QUICK_START = `import { request } from 'node:http';
import express from 'express';
import { resilientCache, healthRouter, statsRouter } from 'express-resilient-cache';

const users = new Map([['1', 'Ada'], ['2', 'Grace']]);
const runs = { user: 0, now: 0 };
const getUser = (req, res) => {
  runs.user++;
  res.json({ id: req.params.id, name: users.get(req.params.id), host: req.headers.host, run: runs.user });
};
const getNow = (req, res) => {
  runs.now++;
  res.json({ now: Date.now(), run: runs.now });
};
const saveUser = async (req) => users.set(req.params.id, req.query.name);

const cache = resilientCache({ redis: process.env.REDIS_URL, ttl: '60s' }); // no URL: memory only
const app = express();
app.use('/health', healthRouter(cache));
app.use('/stats', statsRouter(cache));
app.use(cache);                                                       // every cacheable GET/HEAD below
app.get('/users/:id', cache.route({ ttl: '5m', tags: (req) => [\`user:\${req.params.id}\`] }), getUser);
app.get('/now', cache.route(false), getNow);                          // never cached
app.put('/users/:id', async (req, res) => {
  await saveUser(req);
  await cache.invalidate({ tags: [\`user:\${req.params.id}\`] });        // in Redis and in memory
  res.sendStatus(204);
});

const server = app.listen(0, '127.0.0.1', async () => {
  const ask = (method, path, host = 'a.test') => new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.address().port, method, path, headers: { host } }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode, xCache: res.headers['x-cache'] ?? null, body }));
    });
    req.on('error', reject);
    req.end();
  });
  const seen = {};
  const step = async (label, method, path, host) => {
    const res = await ask(method, path, host);
    let body = res.body;
    try {
      body = JSON.parse(body);
    } catch {}
    seen[label] = { status: res.status, xCache: res.xCache, body };
  };
  try {
    await step('miss', 'GET', '/users/1');
    await step('hit', 'GET', '/users/1');
    await step('listMiss', 'GET', '/users/1?fields=name');
    await step('now1', 'GET', '/now');
    await step('now2', 'GET', '/now');
    await step('put', 'PUT', '/users/1?name=Ada%20L.');
    await step('afterPut', 'GET', '/users/1');
    await step('listAfterPut', 'GET', '/users/1?fields=name');
    for (const port of ['8080', '9090', '8080', '9090']) await step(\`port\${port}-\${seen['port' + port + '-1'] ? 2 : 1}\`, 'GET', '/users/2', 'a.test:' + port);
    await step('health', 'GET', '/health');
    await step('stats', 'GET', '/stats');
    console.log(JSON.stringify(seen));
  } finally {
    server.close();
    await cache.close();
  }
});
`;

/** What the quick start must print, and its stderr must not hold: a deprecation warning, from Express or Node. */
function assertQuickStart(stdout: string, stderr: string): void {
  assert.doesNotMatch(stderr, /deprecat/i, `no deprecation warning on stderr:\n${stderr}`);
  type Seen = { status: number; xCache: string | null; body: Record<string, unknown> & { names?: Record<string, Record<string, number>> } };
  let seen: Record<string, Seen>;
  try {
    seen = JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as typeof seen;
  } catch {
    assert.fail(`the quick start printed no JSON report; stdout was:\n${stdout}\nstderr:\n${stderr}`);
  }
  const brief = (label: string) => [seen[label]?.status, seen[label]?.xCache, seen[label]?.body['name'], seen[label]?.body['run']];
  assert.deepEqual(brief('miss'), [200, 'MISS', 'Ada', 1], stdout);
  assert.deepEqual(brief('hit'), [200, 'HIT', 'Ada', 1], 'the second GET is a hit: the handler ran once');
  assert.deepEqual(brief('listMiss'), [200, 'MISS', 'Ada', 2]);
  assert.deepEqual([brief('now1'), brief('now2')].map((b) => b.slice(0, 2)), [[200, 'BYPASS'], [200, 'BYPASS']], 'cache.route(false)');
  assert.equal(seen['now2']?.body['run'], 2, 'cache.route(false): the handler runs every time');
  assert.equal(seen['put']?.status, 204);
  assert.deepEqual(brief('afterPut'), [200, 'MISS', 'Ada L.', 3], 'the PUT invalidated the entry');
  assert.deepEqual(brief('listAfterPut'), [200, 'MISS', 'Ada L.', 4], 'the tag invalidated the other URL of the user');
  // Hosts that differ only in their port are different entries: the app may answer them differently.
  assert.deepEqual(['port8080-1', 'port9090-1', 'port8080-2', 'port9090-2'].map((label) => [seen[label]?.xCache, seen[label]?.body['host']]),
    [['MISS', 'a.test:8080'], ['MISS', 'a.test:9090'], ['HIT', 'a.test:8080'], ['HIT', 'a.test:9090']]);
  assert.deepEqual([seen['health']?.status, seen['health']?.body['status'], seen['health']?.body['tier']], [200, 'pass', 'memory-only']);
  assert.equal(seen['stats']?.status, 200);
  const users = seen['stats']?.body.names?.['/users/:id'];
  assert.deepEqual([users?.['hits'], users?.['misses']], [3, 6], `stats for /users/:id: ${JSON.stringify(seen['stats']?.body.names)}`);
  assert.equal(seen['stats']?.body.names?.['/now']?.['bypasses'], 2);
}

const TYPESCRIPT_CHECK = `import express, { type Request } from 'express';
import {
  resilientCache, healthRouter, statsRouter, CacheConfigError, DEFAULTS,
  type ResilientCache, type ResilientCacheOptions, type RouteOptions, type HealthReport, type StatsReport,
} from 'express-resilient-cache';

const options: ResilientCacheOptions = {
  redis: process.env['REDIS_URL'],
  ttl: '60s',
  prefix: 'rc:',
  memory: { maxEntries: 10_000, maxBytes: 64 * 1024 * 1024 },
  redisTimeout: '50ms',
};
const cache: ResilientCache = resilientCache(options);
const app = express();
app.use(cache);
const route: RouteOptions = { ttl: '5m', name: 'users', tags: (req: Request) => [\`user:\${String(req.params['id'])}\`] };
app.get('/users/:id', cache.route(route), (_req, res) => { res.json({}); });
app.get('/now', cache.route(false), (_req, res) => { res.json({}); });
app.use('/health', healthRouter(cache));
app.use('/stats', statsRouter(cache));
cache.on('degraded', (error: unknown) => void error);
cache.on('recovered', () => undefined);

async function main(): Promise<void> {
  const user: { id: number } = await cache.getOrSet('user:1', async () => ({ id: 1 }), { ttl: '30s', tags: ['user:1'] });
  const removed: number = await cache.invalidate({ tags: ['user:1'] });
  const health: HealthReport = await cache.health();
  const stats: StatsReport = cache.stats();
  void [user, removed, health, stats, DEFAULTS.ttl];
  try {
    // @ts-expect-error -- a misspelt option must not type-check
    resilientCache({ tll: '1s' });
  } catch (error) {
    if (error instanceof CacheConfigError) console.log(error.option);
  }
  // @ts-expect-error -- the redis option takes a URL, options or a client, not a port number
  resilientCache({ redis: 6379 });
  await cache.close();
}
void main();
`;

const TSC = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');

/** A strict `nodenext` project checking index.ts (TYPESCRIPT_CHECK), our own .d.ts files included. */
function typescriptProject(): string {
  return JSON.stringify({
    compilerOptions: {
      target: 'ES2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true,
      // Our own .d.ts files are what is under test here, so they are checked too.
      skipLibCheck: false, types: ['node'], noUncheckedIndexedAccess: true, verbatimModuleSyntax: true,
    },
    files: ['index.ts'],
  });
}

describe('the packed package', { timeout: BUDGET_MS }, () => {
  let root: string;
  let tarball: string;
  let repoPackage: RepoPackage;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rc-package-test-'));
    repoPackage = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as RepoPackage;
    const packDir = join(root, 'pack');
    await mkdir(packDir);
    // `prepack` builds dist first, so this also checks that a clean build succeeds.
    await run('npm pack (with its prepack build)', 'npm', ['pack', '--pack-destination', packDir, '--loglevel=error'], REPO, PACK_TIMEOUT_MS);
    const tarballs = (await readdir(packDir)).filter((file) => file.endsWith('.tgz'));
    assert.equal(tarballs.length, 1, `npm pack should leave one tarball in ${packDir}, found: ${tarballs.join(', ') || 'none'}`);
    tarball = join(packDir, tarballs[0] as string);
  });

  after(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  /**
   * The version range the repo itself develops against, so installs come from the npm cache. An alias (`express4`:
   * `npm:express@^4.22.3`) installs under the package's own name, as a user has it (`express@^4.22.3`).
   */
  function dependency(name: string): string {
    const range = repoPackage.devDependencies[name] ?? repoPackage.peerDependencies[name];
    assert.ok(range, `package.json lists no version of ${name}`);
    return range.startsWith('npm:') ? range.slice('npm:'.length) : `${name}@${range}`;
  }

  /** Runs the quick start in `dir` (no NODE_OPTIONS: see childEnv) and checks what it saw and printed on stderr. */
  async function runQuickStart(dir: string, what: string): Promise<void> {
    const { stdout, stderr } = await run(`running the quick start on ${what}`, process.execPath, ['quick-start.js'], dir, RUN_TIMEOUT_MS);
    assertQuickStart(stdout, stderr);
  }

  it('ships the build and its types, not the sources or tests', async () => {
    const { stdout } = await run('listing the tarball', 'tar', ['-tzf', tarball], root, RUN_TIMEOUT_MS);
    const files = stdout.trim().split('\n').map((file) => file.replace(/^package\//, ''));
    const dashboard = ['page.html', 'dashboard.css', 'dom.js', 'figures.js', 'charts.js', 'samples.js', 'table.js', 'history-charts.js',
      'dashboard.js'].map((file) => `dist/dashboard/${file}`);
    for (const required of ['package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/dashboard/page.js', ...dashboard]) {
      assert.ok(files.includes(required), `missing ${required}`);
    }
    const unwanted = files.filter((file) => /^(src|test|bench|example-app|node_modules)\//.test(file) || /\.test\.|tsconfig/.test(file));
    assert.deepEqual(unwanted, []);
  });

  it('works from an ES module app on Express 5, README quick start included', async () => {
    const dir = await project(root, 'esm-app', {
      'package.json': JSON.stringify({ name: 'esm-app', private: true, type: 'module' }),
      'app.js': appSource(`import express from 'express';\nimport { resilientCache, statsRouter, CacheConfigError } from '${repoPackage.name}';`, ''),
      'quick-start.js': QUICK_START,
    }, tarball, [dependency('express')]);
    const { stdout } = await run('running the ES module app', process.execPath, ['app.js'], dir, RUN_TIMEOUT_MS);
    assertAppOutput(stdout);
    await runQuickStart(dir, 'Express 5');
  });

  it('works from an Express 4 app: plain npm install, the README quick start, and its types', async () => {
    const dir = await project(root, 'express4-app', {
      'package.json': JSON.stringify({ name: 'express4-app', private: true, type: 'module' }),
      'quick-start.js': QUICK_START,
      'tsconfig.json': typescriptProject(),
      'index.ts': TYPESCRIPT_CHECK,
    }, tarball, [dependency('express4'), dependency('@types/express4'), dependency('@types/node')]);
    const installed = JSON.parse(await readFile(join(dir, 'node_modules', 'express', 'package.json'), 'utf8')) as { version: string };
    assert.match(installed.version, /^4\./, 'the project runs Express 4');
    await runQuickStart(dir, 'Express 4');
    await run('tsc --noEmit against Express 4\'s types', process.execPath, [TSC, '-p', 'tsconfig.json'], dir, RUN_TIMEOUT_MS * 2);
  });

  it('works from a CommonJS app through require()', async () => {
    const dir = await project(root, 'cjs-app', {
      'package.json': JSON.stringify({ name: 'cjs-app', private: true, type: 'commonjs' }),
      'app.js': appSource(`const express = require('express');\nconst { resilientCache, statsRouter, CacheConfigError } = require('${repoPackage.name}');`, ''),
    }, tarball, [dependency('express')]);
    // Node 20.19+ loads ES modules through require() without a flag; the warning it prints goes to stderr.
    const { stdout } = await run('running the CommonJS app', process.execPath, ['app.js'], dir, RUN_TIMEOUT_MS);
    assertAppOutput(stdout);
  });

  it('type-checks from a TypeScript project (module nodenext, strict, lib check on)', async () => {
    const dir = await project(root, 'ts-app', {
      'package.json': JSON.stringify({ name: 'ts-app', private: true, type: 'module' }),
      'tsconfig.json': typescriptProject(),
      'index.ts': TYPESCRIPT_CHECK,
    }, tarball, [dependency('express'), dependency('@types/express'), dependency('@types/node')]);
    await run('tsc --noEmit in the TypeScript project', process.execPath, [TSC, '-p', 'tsconfig.json'], dir, RUN_TIMEOUT_MS * 2);
  });
});
