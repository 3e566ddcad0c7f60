/**
 * Installs the packed tarball, as a user would, into fresh ES module, CommonJS and TypeScript projects, and serves one
 * cached route from each. Catches what tests against src/ cannot: a wrong `exports` map or `files` list, a dependency
 * left in devDependencies, .d.ts files that do not resolve under `nodenext`, a build that `require()` cannot load.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The whole file: pack (builds dist) plus three installs and runs on a noisy 2-core machine. */
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

  /** The version range the repo itself develops against, so installs come from the npm cache. */
  function dependency(name: string): string {
    const range = repoPackage.devDependencies[name] ?? repoPackage.peerDependencies[name];
    assert.ok(range, `package.json lists no version of ${name}`);
    return `${name}@${range}`;
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

  it('works from an ES module app', async () => {
    const dir = await project(root, 'esm-app', {
      'package.json': JSON.stringify({ name: 'esm-app', private: true, type: 'module' }),
      'app.js': appSource(`import express from 'express';\nimport { resilientCache, statsRouter, CacheConfigError } from '${repoPackage.name}';`, ''),
    }, tarball, [dependency('express')]);
    const { stdout } = await run('running the ES module app', process.execPath, ['app.js'], dir, RUN_TIMEOUT_MS);
    assertAppOutput(stdout);
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
      'tsconfig.json': JSON.stringify({
        compilerOptions: {
          target: 'ES2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true,
          // Our own .d.ts files are what is under test here, so they are checked too.
          skipLibCheck: false, types: ['node'], noUncheckedIndexedAccess: true, verbatimModuleSyntax: true,
        },
        files: ['index.ts'],
      }),
      'index.ts': TYPESCRIPT_CHECK,
    }, tarball, [dependency('express'), dependency('@types/express'), dependency('@types/node')]);
    const tsc = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
    await run('tsc --noEmit in the TypeScript project', process.execPath, [tsc, '-p', 'tsconfig.json'], dir, RUN_TIMEOUT_MS * 2);
  });
});
