// Renders the scenario summaries as terminal tables.
import { BODY_BUFFER } from './body.js';
import { formatTable, num, ratio } from './table.js';
import { usesRedis } from './targets.js';

/** @returns {string} */
export function renderScenario(scenario, summary) {
  const title = `== ${scenario.name}: ${scenario.description}`;
  const rows = summary.filter((s) => s.rounds > 0);
  const body = RENDERERS[scenario.kind](rows);
  const notes = scenario.kind === 'throughput' ? commandNotes(rows) : [];
  const failures = summary.flatMap((s) => s.failures.map((f) => `  ! ${s.target} ${f}`));
  return [title, body, ...notes, ...failures].join('\n');
}

/** Which Redis commands the measured run caused, per Redis-backed target (its last round). */
function commandNotes(rows) {
  return rows
    .filter((s) => usesRedis(s.target) && s.redisCommandsByName)
    .map((s) => {
      const list = Object.entries(s.redisCommandsByName).slice(0, 6).map(([name, calls]) => `${name} ${num(calls)}`);
      const idle = `; idle, with no load: ${num(s.idleCommandsPerSecond, 1)}/s`;
      return `  Redis commands in ${s.target}'s measured run: ${list.length ? list.join(', ') : 'none'}${idle}`;
    });
}

/** The spread scenarios side by side: a hit's cost (app + redis-server) by the number of URLs cached. */
export function renderHitCostByUrls(spreads, summaries) {
  const targets = [...new Set(spreads.flatMap((s) => summaries[s.name].filter((r) => r.rounds > 0).map((r) => r.target)))];
  const first = spreads[0];
  const last = spreads.at(-1);
  const cost = (scenario, target) => summaries[scenario.name].find((r) => r.target === target && r.rounds > 0)?.totalCpuPerReq;
  const header = ['target', ...spreads.map((s) => `${num(s.urls)} URLs`), `${num(last.urls)} / ${num(first.urls)}`];
  const rows = targets.map((t) => [t, ...spreads.map((s) => num(cost(s, t), 1)), num(cost(last, t) / cost(first, t), 2)]);
  return [`== spread by URL count: CPU us per request (app + redis-server), medians over rounds`, formatTable(header, rows)].join('\n');
}

const RENDERERS = {
  throughput(rows) {
    const header = ['target', 'req/s', 'p50 ms', 'p99 ms', 'failed', 'CPU us/req', 'redis us/req', 'app+redis us/req', 'redis cmds/req', 'less idle', 'origin runs', 'vs', 'req/s ratio (min-max)', 'CPU ratio (min-max)'];
    return formatTable(
      header,
      rows.map((s) => [
        s.target,
        num(s.reqPerSec),
        num(s.p50, 1),
        num(s.p99, 1),
        num(s.failed),
        num(s.cpuPerReq, 1),
        usesRedis(s.target) ? num(s.redisCpuPerReq, 1) : '',
        num(s.totalCpuPerReq, 1),
        usesRedis(s.target) ? num(s.redisCommandsPerReq, 3) : '',
        usesRedis(s.target) ? num(s.redisCommandsPerReqLessIdle, 4) : '',
        `${num(s.originRunShare * 100, 1)}%`,
        s.reference ?? '',
        s.ratio ? ratio(s.ratio.median, s.ratio.min, s.ratio.max) : '',
        s.cpuRatio ? ratio(s.cpuRatio.median, s.cpuRatio.min, s.cpuRatio.max) : '',
      ]),
    );
  },
  outage(rows) {
    const header = ['target', 'phase', 'served', 'failed', 'slow (>1 s)', 'p50 ms', 'p99 ms', 'max ms', 'Redis hits resume after'];
    const lines = rows.flatMap((s) =>
      ['before', 'during', 'after'].map((phase, i) => {
        const p = s.phases[phase];
        const resume = i === 2 ? resumeText(s) : '';
        return [i === 0 ? s.target : '', phase === 'during' ? `during (${s.freezeSeconds}s)` : phase, num(p.served), num(p.failed), num(p.slow), num(p.p50, 1), num(p.p99, 1), num(p.max), resume];
      }),
    );
    return formatTable(header, lines);
  },
  stampede(rows) {
    const header = ['target', 'handler runs per round', 'ok', 'wrong body', 'failed', 'p50 ms', 'max ms'];
    return formatTable(
      header,
      rows.map((s) => [s.target, s.handlerRuns.join(', '), num(s.ok), num(s.wrongBody), num(s.failed), num(s.p50), num(s.max)]),
    );
  },
  coherence(rows) {
    const header = ['target', 'invalidations', 'p50 ms', 'p99 ms', 'max ms', 'min ms', 'refill p50 ms', 'never seen', 'stale requests', 'invalidations with any stale'];
    return formatTable(
      header,
      rows.map((s) => [s.target, num(s.samples), num(s.p50, 2), num(s.p99, 2), num(s.max, 2), num(s.min, 2), num(s.refillP50, 2), num(s.notSeen), num(s.staleRequests), num(s.samplesWithStale)]),
    );
  },
  memory(rows) {
    const header = ['target', 'entries', 'heap B/entry', 'external B/entry', 'total B/entry (min-max)', 'x body'];
    return formatTable(
      header,
      rows.map((s) => [
        s.target,
        `${num(s.entries)}${s.entriesCounted ? '' : ' (assumed)'}`,
        num(s.heapPerEntry),
        num(s.externalPerEntry),
        `${num(s.totalPerEntry)} (${num(s.totalRange.min)}-${num(s.totalRange.max)})`,
        num(s.totalPerEntry / BODY_BUFFER.length, 2),
      ]),
    );
  },
};

function resumeText(s) {
  if (s.resumeSeconds === null) return 'not seen';
  return `${num(s.resumeSeconds, 2)} s (${num(s.resumeRange.min, 2)}-${num(s.resumeRange.max, 2)})`;
}
