// The targets for the hit path, misses, coherence and outages, each read off this run's results: one line
// per check with the measured figure, the bound, and whether every round (or only the median) meets it.
import { ratioOver } from './summarise.js';
import { formatTable, num, ratio } from './table.js';

/**
 * @param {Array<{ name: string, kind: string, family?: string }>} scenarios
 * @param {Record<string, any[]>} summaries
 * @param {any[]} records
 */
export function renderChecks(scenarios, summaries, records) {
  const rows = scenarios.flatMap((s) => checksOf(s, summaries[s.name], records.filter((r) => r.scenario === s.name)));
  if (rows.length === 0) return '== checks: none apply to the scenarios and targets run';
  const header = ['scenario', 'check', 'measured', 'bound', 'met'];
  return ['== checks (issue 12): CPU is app + redis-server per request; ratios per round, median (min-max)', formatTable(header, rows)].join('\n');
}

function checksOf(scenario, summary, records) {
  const row = (target) => summary.find((s) => s.target === target && s.rounds > 0);
  const out = [];
  const add = (check, measured, bound, met) => out.push([scenario.name, check, measured, bound, met]);
  if (scenario.kind === 'throughput' && scenario.name !== 'miss') {
    const cpu = (m, ref) => m.totalCpuPerReq / ref.totalCpuPerReq;
    const pair = (target, reference, bound) => {
      if (!row(target) || !row(reference)) return;
      const r = ratioOver(records.filter((x) => x.target === target && x.result), records, reference, cpu);
      add(`${target} / ${reference} CPU`, ratio(r.median, r.min, r.max), `<= ${bound.toFixed(2)}`, verdict(r, (v) => v <= bound));
    };
    pair('ours-redis', 'ours-memory', 1.05);
    pair('ours-redis', 'handwritten', 0.9);
    pair('ours-memory', 'raw', 1.1);
    const redis = row('ours-redis');
    if (redis) {
      const perHit = redis.redisCommandsPerReqLessIdle;
      add('ours-redis Redis commands per hit, less idle', `${num(perHit, 4)} (all: ${num(redis.redisCommandsPerReq, 4)})`, '0 (< 0.001)', perHit < 0.001 ? 'yes' : 'no');
    }
  }
  if (scenario.name === 'miss') {
    for (const target of ['ours-memory', 'ours-redis']) {
      const r = row(target)?.ratio;
      if (r) add(`${target} / origin req/s`, ratio(r.median, r.min, r.max), '>= 0.90', verdict(r, (v) => v >= 0.9));
    }
  }
  if (scenario.kind === 'outage' && row('ours-redis')) {
    const phases = Object.values(row('ours-redis').phases);
    const failed = phases.reduce((n, p) => n + p.failed, 0);
    const slow = phases.reduce((n, p) => n + p.slow, 0);
    add('ours-redis failed, slow (> 1 s) requests', `${num(failed)}, ${num(slow)}`, '0, 0', failed === 0 && slow === 0 ? 'yes' : 'no');
  }
  if (scenario.kind === 'coherence' && row('ours-redis')) {
    const c = row('ours-redis');
    add('ours-redis propagation p50 / p99 / max ms', `${num(c.p50, 2)} / ${num(c.p99, 2)} / ${num(c.max, 2)}`, 'p99 <= 5', c.p99 <= 5 && c.notSeen === 0 ? 'yes' : 'no');
    add('ours-redis stale requests after invalidate()', num(c.staleRequests), 'reported', '');
  }
  return out;
}

/** 'yes' when every round meets the bound, 'median' when only the median does, 'no' otherwise. */
function verdict(r, ok) {
  if (!Number.isFinite(r.median)) return '-';
  if (r.values.every(ok)) return 'yes';
  return ok(r.median) ? 'median' : 'no';
}
