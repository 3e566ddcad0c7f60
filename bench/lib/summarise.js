// Turns the per-round records into one summary per scenario and target: medians over rounds, and ratios
// against a reference taken in the same round (so machine drift between rounds cancels out).
import { median, percentile, spread } from './stats.js';

/**
 * @typedef {{ round: number, scenario: string, target: string, result?: any, error?: string }} BenchRecord
 */

/** @param {BenchRecord[]} records @param {{ name: string, kind: string, reference?: (t: string) => string | undefined }} scenario */
export function summariseScenario(records, scenario) {
  const mine = records.filter((r) => r.scenario === scenario.name);
  const targets = [...new Set(mine.map((r) => r.target))];
  return targets.map((target) => {
    const runs = mine.filter((r) => r.target === target);
    const ok = runs.filter((r) => r.result);
    const failures = runs.filter((r) => r.error).map((r) => `round ${r.round}: ${r.error}`);
    const base = { target, rounds: ok.length, failures };
    if (ok.length === 0) return base;
    const results = ok.map((r) => r.result);
    if (scenario.kind === 'throughput') return { ...base, ...throughput(results, ok, mine, scenario.reference?.(target)) };
    if (scenario.kind === 'outage') return { ...base, ...outage(results) };
    if (scenario.kind === 'stampede') return { ...base, ...stampede(results) };
    if (scenario.kind === 'coherence') return { ...base, ...coherence(results) };
    return { ...base, ...memory(results) };
  });
}

function throughput(results, ok, all, reference) {
  const pick = (key) => results.map((r) => r[key]);
  const served = sum(pick('served'));
  return {
    reqPerSec: median(pick('reqPerSec')),
    p50: median(pick('p50')),
    p99: median(pick('p99')),
    failed: sum(results.map((r) => r.errors + r.non2xx)),
    cpuPerReq: median(pick('cpuPerReq')),
    redisCpuPerReq: median(pick('redisCpuPerReq').filter((v) => v !== undefined)),
    totalCpuPerReq: median(pick('totalCpuPerReq')),
    totalCpuRange: spread(pick('totalCpuPerReq')),
    redisCommandsPerReq: median(pick('redisCommandsPerReq')),
    redisCommandsPerReqLessIdle: median(pick('redisCommandsPerReqLessIdle')),
    idleCommandsPerSecond: median(pick('idleCommandsPerSecond')),
    redisCommandsByName: results.at(-1).redisCommandsByName,
    targetCores: median(pick('targetCores')),
    loadGenCores: median(pick('loadGenCores')),
    originRunShare: served > 0 ? sum(pick('originRuns')) / served : NaN,
    reference,
    ratio: reference ? ratioOver(ok, all, reference, (m, ref) => m.reqPerSec / ref.reqPerSec) : undefined,
    cpuRatio: reference ? ratioOver(ok, all, reference, (m, ref) => m.totalCpuPerReq / ref.totalCpuPerReq) : undefined,
  };
}

/** Per-round ratio against the reference's run in the same round; median and range over rounds. */
export function ratioOver(ok, all, reference, fn) {
  const values = [];
  for (const record of ok) {
    const ref = all.find((r) => r.round === record.round && r.target === reference && r.result);
    if (ref) values.push(fn(record.result, ref.result));
  }
  return { median: median(values), ...spread(values), values };
}

function outage(results) {
  const phases = {};
  for (const name of ['before', 'during', 'after']) {
    const list = results.map((r) => r.phases[name]);
    phases[name] = {
      served: median(list.map((p) => p.ok)),
      failed: sum(list.map((p) => p.non2xx + p.errors + p.timeouts)),
      slow: sum(list.map((p) => p.slow)),
      p50: median(list.map((p) => p.p50)),
      p99: median(list.map((p) => p.p99)),
      max: Math.max(...list.map((p) => p.max).filter(Number.isFinite)),
    };
  }
  const resumes = results.map((r) => r.resumeSeconds).filter((v) => typeof v === 'number');
  return { phases, freezeSeconds: results[0].freezeSeconds, resumeSeconds: resumes.length ? median(resumes) : null, resumeRange: spread(resumes) };
}

function stampede(results) {
  return {
    handlerRuns: results.map((r) => r.handlerRuns),
    ok: sum(results.map((r) => r.ok)),
    wrongBody: sum(results.map((r) => r.wrongBody)),
    failed: sum(results.map((r) => r.non2xx + r.errors)),
    p50: median(results.map((r) => r.p50)),
    max: Math.max(...results.map((r) => r.max)),
  };
}

/** Every round's invalidations pooled: the percentiles are over all samples, not medians of rounds. */
function coherence(results) {
  const all = results.flatMap((r) => r.propagationMs);
  const seen = all.filter(Number.isFinite);
  return {
    samples: all.length,
    notSeen: sum(results.map((r) => r.notSeen)),
    notFound: sum(results.map((r) => r.notFound)),
    staleRequests: sum(results.map((r) => r.staleRequests)),
    samplesWithStale: sum(results.map((r) => r.samplesWithStale)),
    p50: percentile(seen, 50),
    p99: percentile(seen, 99),
    max: seen.length ? Math.max(...seen) : NaN,
    min: seen.length ? Math.min(...seen) : NaN,
    refillP50: percentile(results.flatMap((r) => r.refillMs), 50),
  };
}

function memory(results) {
  const total = results.map((r) => r.totalPerEntry);
  return {
    entries: median(results.map((r) => r.entries)),
    entriesCounted: results.every((r) => r.entriesCounted),
    failed: sum(results.map((r) => r.failed)),
    heapPerEntry: median(results.map((r) => r.heapPerEntry)),
    externalPerEntry: median(results.map((r) => r.externalPerEntry)),
    totalPerEntry: median(total),
    totalRange: spread(total),
  };
}

function sum(values) {
  return values.reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
}
