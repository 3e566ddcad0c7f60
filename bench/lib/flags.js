// Command-line flags of bench/run.js, checked once with messages that say what to fix.
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ALL_TARGETS, TARGETS } from './targets.js';

export const SCENARIO_NAMES = ['hot', 'spread', 'miss', 'outage', 'stampede', 'memory', 'coherence'];

const OPTIONS = {
  rounds: { type: 'string', default: '5' },
  duration: { type: 'string', default: '5' },
  warmup: { type: 'string', default: '1' },
  connections: { type: 'string', default: '50' },
  scenarios: { type: 'string', default: SCENARIO_NAMES.join(',') },
  targets: { type: 'string', default: ALL_TARGETS.join(',') },
  'outage-freeze': { type: 'string', default: '10' },
  urls: { type: 'string', default: '1000' },
  'coherence-samples': { type: 'string', default: '200' },
  'cpu-prof': { type: 'string' },
  json: { type: 'string', default: '.bench-tmp/bench/latest.json' },
  baseline: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
};

export const USAGE = `usage: node bench/run.js [flags]
  --rounds N           rounds; targets are interleaved in a rotated order each round (default 5)
  --duration S         seconds of each measured run (default 5)
  --warmup S           seconds of load before each measured run (default 1)
  --connections N      concurrent connections (default 50)
  --scenarios a,b      of ${SCENARIO_NAMES.join(',')} (default all)
  --targets a,b        of ${ALL_TARGETS.join(',')} (default all)
  --outage-freeze S    seconds redis-server stays SIGSTOPped in the outage scenario (default 10)
  --urls N[,N...]      distinct URLs in the spread scenario; a list runs one spread table per count, plus a table of
                       the hit cost by count (default 1000; the ours-* and route-cache bounds are raised to hold them)
  --coherence-samples N  invalidations timed in the coherence scenario (default 200)
  --cpu-prof TARGET    profile TARGET: the measured run only in hot, spread and miss, the whole process elsewhere;
                       profiles go to .bench-tmp/profiles/ (read them with node bench/profile-top.js FILE)
  --json PATH          where to write the JSON results (default .bench-tmp/bench/latest.json)
  --baseline DIR       also run ours-memory-base and ours-redis-base on the build in DIR (a copy of an earlier dist/),
                       to measure a change before and after in the same run`;

/** @param {string[]} argv */
export function parseFlags(argv) {
  const { values } = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false });
  return {
    help: values.help,
    rounds: positiveNumber('rounds', values.rounds, true),
    duration: positiveNumber('duration', values.duration),
    warmup: positiveNumber('warmup', values.warmup, false, true),
    connections: positiveNumber('connections', values.connections, true),
    outageFreeze: positiveNumber('outage-freeze', values['outage-freeze']),
    urls: urlCounts(values.urls),
    coherenceSamples: positiveNumber('coherence-samples', values['coherence-samples'], true),
    scenarios: list('scenarios', values.scenarios, SCENARIO_NAMES),
    targets: withBaseline(list('targets', values.targets, ALL_TARGETS), values.baseline),
    cpuProf: values['cpu-prof'] === undefined ? undefined : list('cpu-prof', values['cpu-prof'], ALL_TARGETS)[0],
    json: values.json,
    baseline: values.baseline,
  };
}

/** Baseline targets run only with --baseline, and then beside each ours-* target asked for. */
function withBaseline(targets, baseline) {
  const plain = targets.filter((t) => !TARGETS[t].baseline);
  if (baseline === undefined) return plain;
  if (!existsSync(resolve(baseline, 'index.js'))) throw new Error(`--baseline ${baseline}: no index.js there; copy a built dist/ first`);
  process.env.BENCH_BASELINE_DIST = resolve(baseline);
  return plain.flatMap((t) => (TARGETS[`${t}-base`] ? [t, `${t}-base`] : [t]));
}

function positiveNumber(name, text, integer = false, zeroOk = false) {
  const n = Number(text);
  const ok = Number.isFinite(n) && (zeroOk ? n >= 0 : n > 0) && (!integer || Number.isInteger(n));
  if (!ok) throw new Error(`--${name} must be a ${integer ? 'whole ' : ''}number ${zeroOk ? '>= 0' : '> 0'}, got "${text}"`);
  return n;
}

function urlCounts(text) {
  const counts = text.split(',').map((s) => positiveNumber('urls', s.trim(), true));
  return [...new Set(counts)].sort((a, b) => a - b);
}

function list(name, text, allowed) {
  const items = text.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = items.filter((i) => !allowed.includes(i));
  if (unknown.length) throw new Error(`--${name}: unknown ${unknown.join(', ')}; choose from ${allowed.join(', ')}`);
  if (items.length === 0) throw new Error(`--${name} is empty; choose from ${allowed.join(', ')}`);
  return items;
}
