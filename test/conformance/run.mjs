// Runs the public HTTP caching conformance suite (http-tests/cache-tests, in ../shared/http-cache-tests next to
// this repo) against test/conformance/proxy-app.js once per cache mode, scores the results and checks them
// against test/conformance/expected.json.
//
//   npm run conformance                                  # build, then every mode: none, default, response
//   node test/conformance/run.mjs --modes default        # one mode (none still runs: it is the reference)
//   node test/conformance/run.mjs --id freshness-max-age [--modes response]
//                                                        # one test in one mode (default: default), with its
//                                                        # requests and responses; no scoring
//
// "Must-not violations" are required tests that the app without a cache (MODE=none) passes and a mode fails:
// the cache did something a shared cache must not do (served a stale or private response, say), as opposed
// to not doing something it must (e.g. revalidate), which an app without a cache fails as well.
// The suite is found at $HTTP_CACHE_TESTS, else ../shared/http-cache-tests next to the repo root, else (in a
// linked git worktree, e.g. /tmp/erc-baseline) next to the main worktree.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ALL_MODES = ['none', 'default', 'response'];
const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../..');

function fail(message) {
  console.error(`conformance: ${message}`);
  process.exit(2);
}

function parseArgs(argv) {
  const args = { modes: ALL_MODES, modesGiven: false, id: undefined };
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1];
    if (argv[i] === '--modes' && value) {
      args.modes = value.split(',').map((m) => m.trim()).filter(Boolean);
      args.modesGiven = true;
      i++;
    }
    else if (argv[i] === '--id' && value) args.id = value, i++;
    else fail(`unknown argument ${argv[i]} (usage: run.mjs [--modes none,default,response] [--id TEST_ID])`);
  }
  for (const mode of args.modes) if (!ALL_MODES.includes(mode)) fail(`unknown mode ${mode} (${ALL_MODES.join(', ')})`);
  return args;
}

function findSuite() {
  const candidates = [];
  if (process.env.HTTP_CACHE_TESTS) candidates.push(path.resolve(process.env.HTTP_CACHE_TESTS));
  candidates.push(path.resolve(repoRoot, '..', 'shared', 'http-cache-tests'));
  try { // a linked worktree's common git dir is the main worktree's .git: look next to that worktree too
    const common = execFileSync('git', ['rev-parse', '--path-format=absolute', '--git-common-dir'],
      { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    candidates.push(path.resolve(path.dirname(common), '..', 'shared', 'http-cache-tests'));
  } catch { /* not a git checkout: only the paths above */ }
  const found = candidates.find((dir) => fs.existsSync(path.join(dir, 'run.sh')) &&
    fs.existsSync(path.join(dir, 'suite', 'tests', 'index.mjs')));
  if (!found) {
    fail(`the HTTP caching conformance suite is missing: expected run.sh and suite/tests/index.mjs in\n  ${
      [...new Set(candidates)].join('\n  ')}\n(put http-tests/cache-tests there as ../shared/http-cache-tests, or set HTTP_CACHE_TESTS)`);
  }
  return found;
}

// Runs run.sh for one mode. Resolves to { status: 'ok', results, seconds, score } or { status: 'unavailable',
// reason } (the proxy refused the mode's options) or { status: 'error', reason }.
function runMode(suiteDir, mode, { id, outDir } = {}) {
  const out = path.join(outDir ?? os.tmpdir(), `${mode}.json`);
  const args = id ? ['--id', id] : ['--out', out];
  const command = [path.join(suiteDir, 'run.sh'), ...args, '--', process.execPath, path.join(here, 'proxy-app.js')];
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(command[0], command.slice(1), {
      cwd: repoRoot, env: { ...process.env, MODE: mode }, stdio: ['ignore', id ? 'inherit' : 'pipe', id ? 'inherit' : 'pipe'],
    });
    let log = '';
    child.stdout?.on('data', (chunk) => { log += chunk; });
    child.stderr?.on('data', (chunk) => { log += chunk; });
    child.on('close', (code) => {
      const seconds = (Date.now() - started) / 1000;
      if (id) return resolve({ status: code === 0 ? 'ok' : 'error', seconds, reason: `run.sh exited with ${code}` });
      const refused = log.match(/proxy-app: MODE=\S+ not available: (.*)/);
      if (refused) return resolve({ status: 'unavailable', reason: refused[1] });
      if (code !== 0 || !fs.existsSync(out)) return resolve({ status: 'error', reason: `run.sh exited with ${code}:\n${log}` });
      let results;
      try { results = JSON.parse(fs.readFileSync(out, 'utf8')); } catch (error) {
        return resolve({ status: 'error', reason: `${out} is not JSON (${error.message}):\n${log}` });
      }
      resolve({ status: 'ok', results, seconds, out, score: log.split('\n').find((l) => /required \d+\/\d+/.test(l)) });
    });
  });
}

// Counts as score.mjs does: only tests present in the results, `true` is a pass, no kind means required.
function score(suites, results, reference) {
  const counts = { required: { pass: 0, of: 0 }, optimal: { pass: 0, of: 0 }, check: { pass: 0, of: 0 } };
  const mustNot = [];
  const otherFailing = [];
  for (const suite of suites) {
    for (const test of suite.tests) {
      if (!(test.id in results)) continue;
      const kind = test.kind ?? 'required';
      counts[kind].of++;
      if (results[test.id] === true) { counts[kind].pass++; continue; }
      if (kind !== 'required') continue;
      const row = { id: test.id, suite: suite.id, name: test.name, result: results[test.id] };
      (reference?.[test.id] === true ? mustNot : otherFailing).push(row);
    }
  }
  return { counts, mustNot, otherFailing };
}

const args = parseArgs(process.argv.slice(2));
if (!fs.existsSync(path.join(repoRoot, 'dist', 'index.js'))) fail('dist/index.js is missing: run `npm run build` first (npm run conformance does)');
const suiteDir = findSuite();

if (args.id) {
  if (args.modesGiven && args.modes.length !== 1) fail('--id runs one mode: give one with --modes');
  const mode = args.modesGiven ? args.modes[0] : 'default';
  console.log(`conformance: test ${args.id} in MODE=${mode} (suite ${suiteDir})`);
  const run = await runMode(suiteDir, mode, { id: args.id });
  process.exit(run.status === 'ok' ? 0 : 1);
}

const { default: suites } = await import(pathToFileURL(path.join(suiteDir, 'suite', 'tests', 'index.mjs')).href);
const expectedFile = path.join(here, 'expected.json');
const expected = JSON.parse(fs.readFileSync(expectedFile, 'utf8'));
const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'erc-conformance-'));
const modes = args.modes.includes('none') ? args.modes : ['none', ...args.modes]; // none is the reference
console.log(`conformance: suite ${suiteDir}\nconformance: results in ${outDir}`);

const runs = {};
for (const mode of modes) {
  process.stdout.write(`conformance: MODE=${mode} ... `);
  runs[mode] = await runMode(suiteDir, mode, { outDir });
  const run = runs[mode];
  console.log(run.status === 'ok' ? `${run.seconds.toFixed(0)} s (score.mjs: ${run.score})` : run.status === 'unavailable' ? 'not available' : 'failed');
  if (run.status === 'error') fail(`MODE=${mode}: ${run.reason}`);
}
if (runs.none.status !== 'ok') fail('MODE=none must run: it is the reference for must-not violations');

const scored = {};
for (const mode of modes) if (runs[mode].status === 'ok') scored[mode] = score(suites, runs[mode].results, mode === 'none' ? undefined : runs.none.results);

const cell = ({ pass, of }) => `${pass}/${of}`;
console.log(`\n${'mode'.padEnd(9)} ${'required'.padEnd(9)} ${'must-not'.padEnd(9)} ${'optimal'.padEnd(8)} ${'check'.padEnd(8)} time`);
for (const mode of modes) {
  const run = runs[mode];
  if (run.status !== 'ok') { console.log(`${mode.padEnd(9)} not available: ${run.reason}`); continue; }
  const { counts, mustNot } = scored[mode];
  console.log(`${mode.padEnd(9)} ${cell(counts.required).padEnd(9)} ${String(mode === 'none' ? '-' : mustNot.length).padEnd(9)} ${
    cell(counts.optimal).padEnd(8)} ${cell(counts.check).padEnd(8)} ${run.seconds.toFixed(0)} s`);
}

const line = (t) => `  ${t.id} (${t.suite}): ${t.name}\n      -> ${JSON.stringify(t.result)}`;
for (const mode of modes) {
  if (mode === 'none' || !scored[mode]) continue;
  const { mustNot, otherFailing } = scored[mode];
  console.log(`\nMODE=${mode}: must-not violations (${mustNot.length}): required tests MODE=none passes and this mode fails`);
  for (const t of mustNot) console.log(line(t));
  console.log(`\nMODE=${mode}: other failing required tests (${otherFailing.length})`);
  for (const t of otherFailing) console.log(line(t));
}

const problems = [];
console.log(`\nexpected (${path.relative(repoRoot, expectedFile)}):`);
for (const [mode, limits] of Object.entries(expected)) {
  if (mode.startsWith('_') || !modes.includes(mode)) continue;
  if (!scored[mode]) { console.log(`  ${mode}: not available, not checked`); continue; }
  const required = scored[mode].counts.required.pass;
  const mustNot = scored[mode].mustNot.length;
  const bad = [];
  if (required < limits.minRequired) bad.push(`required ${required} < minRequired ${limits.minRequired}`);
  if (mustNot > limits.maxMustNot) bad.push(`must-not ${mustNot} > maxMustNot ${limits.maxMustNot}`);
  const better = required > limits.minRequired || mustNot < limits.maxMustNot;
  console.log(`  ${mode}: required ${required} (min ${limits.minRequired}), must-not ${mustNot} (max ${limits.maxMustNot}): ${
    bad.length ? `FAIL: ${bad.join('; ')}` : better ? 'ok, better than expected: tighten expected.json' : 'ok'}`);
  if (bad.length) problems.push(`${mode}: ${bad.join('; ')}`);
}
if (problems.length) {
  console.error(`\nconformance: FAILED\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log('\nconformance: ok');
