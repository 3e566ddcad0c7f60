// `npm run bench`: runs every selected target through every selected scenario, interleaved in rounds,
// against the bench's own redis-server, and prints one table per scenario (JSON goes to --json).
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, resolve } from 'node:path';
import { installCleanup, killAll } from './lib/children.js';
import { parseFlags, USAGE } from './lib/flags.js';
import { preflight } from './lib/preflight.js';
import { startRedis } from './lib/redis-server.js';
import { renderChecks } from './lib/checks.js';
import { renderHitCostByUrls, renderScenario } from './lib/report.js';
import { summariseScenario } from './lib/summarise.js';
import { startTargetProcess } from './lib/target-process.js';

import { spreadScenario } from './scenarios/spread.js';

const SCENARIOS = {
  hot: (await import('./scenarios/hot.js')).default,
  miss: (await import('./scenarios/miss.js')).default,
  outage: (await import('./scenarios/outage.js')).default,
  stampede: (await import('./scenarios/stampede.js')).default,
  memory: (await import('./scenarios/memory.js')).default,
  coherence: (await import('./scenarios/coherence.js')).default,
};

/** `spread` is one scenario per --urls count; the others are one each. */
function selectScenarios(flags) {
  return flags.scenarios.flatMap((name) => (name === 'spread' ? flags.urls.map(spreadScenario) : [SCENARIOS[name]]));
}

const log = (line) => process.stderr.write(`${line}\n`);

async function main() {
  let flags;
  try {
    flags = parseFlags(process.argv.slice(2));
  } catch (err) {
    log(`${err.message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (flags.help) return console.log(USAGE);
  installCleanup();
  const redis = await startRedis();
  log(`bench redis-server on ${redis.url} (pid ${redis.pid})`);
  const { available, unavailable, checks } = await preflight(flags.targets, redis);
  for (const [name, reason] of Object.entries(unavailable)) log(`! ${name} left out: ${reason}`);
  const scenarios = selectScenarios(flags);
  const records = await runRounds(flags, scenarios, available, redis);
  const summaries = Object.fromEntries(scenarios.map((s) => [s.name, summariseScenario(records, s)]));
  console.log(header(flags, unavailable, checks));
  for (const s of scenarios) console.log(`\n${renderScenario(s, summaries[s.name])}`);
  const spreads = scenarios.filter((s) => s.family === 'spread');
  if (spreads.length > 1) console.log(`\n${renderHitCostByUrls(spreads, summaries)}`);
  console.log(`\n${renderChecks(scenarios, summaries, records)}`);
  writeJson(flags, { unavailable, checks, summaries, records });
  redis.stop();
}

async function runRounds(flags, scenarios, available, redis) {
  const records = [];
  for (let round = 1; round <= flags.rounds; round++) {
    for (const scenario of scenarios) {
      const targets = rotate(scenario.targets.filter((t) => available.includes(t)), round - 1);
      for (const target of targets) {
        const record = await measureOne(flags, scenario, target, round, redis);
        records.push(record);
        log(progress(record, flags.rounds));
      }
    }
  }
  return records;
}

/** Round r starts r places further down the list, so no target always runs first or last. */
function rotate(list, by) {
  const k = list.length ? by % list.length : 0;
  return [...list.slice(k), ...list.slice(0, k)];
}

async function measureOne(flags, scenario, target, round, redis) {
  await redis.flush();
  const profiling = flags.cpuProf === target ? profileSetup(scenario, target, round) : { nodeArgs: [], env: {} };
  let handle;
  try {
    const env = { ...scenario.targetEnv?.(flags), ...profiling.env };
    handle = await startTargetProcess(target, { redisUrl: redis.url, scenario: scenario.name, nodeArgs: profiling.nodeArgs, env });
    const result = await scenario.measure(handle, { flags, redis, round, profile: profiling.measuredOnly });
    return { round, scenario: scenario.name, target, result };
  } catch (err) {
    return { round, scenario: scenario.name, target, error: err.message };
  } finally {
    redis.thaw();
    await handle?.stop();
  }
}

/**
 * `--cpu-prof`: in throughput scenarios the target profiles the measured run only (started and stopped over
 * /__bench/profile), so fill and warm-up stay out; elsewhere node's --cpu-prof takes the whole process.
 */
function profileSetup(scenario, target, round) {
  const dir = resolve('.bench-tmp/profiles');
  mkdirSync(dir, { recursive: true });
  const name = `${target}-${scenario.name}-r${round}.cpuprofile`;
  if (scenario.kind === 'throughput') return { nodeArgs: [], env: { BENCH_CPU_PROF_FILE: resolve(dir, name) }, measuredOnly: true };
  return { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-name', name], env: {} };
}

function progress({ round, scenario, target, result, error }, rounds) {
  const head = `[round ${round}/${rounds}] ${scenario.padEnd(12)} ${target.padEnd(18)}`;
  if (error) return `${head} FAILED: ${error}`;
  if (result.reqPerSec !== undefined) {
    return `${head} ${Math.round(result.reqPerSec)} req/s, ${result.cpuPerReq.toFixed(1)} us CPU/req, ${result.redisCommandsPerReq.toFixed(3)} Redis commands/req`;
  }
  if (result.propagationMs !== undefined) {
    const seen = result.propagationMs.filter(Number.isFinite).sort((x, y) => x - y);
    return `${head} ${result.samples} invalidations, A served the new body after ${seen[Math.floor(seen.length / 2)]?.toFixed(2)} ms (median), max ${seen.at(-1)?.toFixed(2)} ms, ${result.staleRequests} stale`;
  }
  if (result.handlerRuns !== undefined) return `${head} handler ran ${result.handlerRuns}x`;
  if (result.totalPerEntry !== undefined) return `${head} ${Math.round(result.totalPerEntry)} B/entry`;
  if (result.phases) {
    const during = result.phases.during;
    return `${head} during freeze: ${during.non2xx + during.errors + during.timeouts} failed, ${during.slow} slower than 1 s, max ${Math.round(during.max)} ms`;
  }
  return head;
}

function header(flags, unavailable, checks) {
  const lines = [
    `express-resilient-cache bench: ${flags.rounds} rounds, ${flags.duration}s runs after ${flags.warmup}s warm-up, ${flags.connections} connections, spread over ${flags.urls.join(', ')} URLs`,
    `node ${process.version}, ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, load generator: autocannon in this process`,
    'req/s, p50, p99, CPU: medians over rounds; ratios: per round against the reference in that round, median (min-max)',
  ];
  const ours = Object.entries(checks).filter(([, c]) => c.xCache.some(Boolean));
  for (const [name, c] of ours) lines.push(`${name}: X-Cache ${c.xCache.join(' then ')} on the preflight requests`);
  for (const [name, reason] of Object.entries(unavailable)) lines.push(`left out: ${name}: ${reason.split('\n')[0]}`);
  return lines.join('\n');
}

function writeJson(flags, data) {
  const path = resolve(flags.json);
  mkdirSync(dirname(path), { recursive: true });
  const meta = { date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, flags };
  writeFileSync(path, `${JSON.stringify({ meta, ...data }, null, 2)}\n`);
  log(`\nJSON results: ${path}`);
}

main().catch((err) => {
  console.error(err);
  killAll();
  process.exit(1);
});
