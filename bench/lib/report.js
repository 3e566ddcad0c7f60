// Renders the scenario summaries as terminal tables.
import { BODY_BUFFER } from './body.js';
import { formatTable, num, ratio } from './table.js';
import { usesRedis } from './targets.js';

/** @returns {string} */
export function renderScenario(scenario, summary) {
  const title = `== ${scenario.name}: ${scenario.description}`;
  const body = RENDERERS[scenario.kind](summary.filter((s) => s.rounds > 0));
  const failures = summary.flatMap((s) => s.failures.map((f) => `  ! ${s.target} ${f}`));
  return [title, body, ...failures].join('\n');
}

const RENDERERS = {
  throughput(rows) {
    const header = ['target', 'req/s', 'p50 ms', 'p99 ms', 'failed', 'CPU us/req', 'redis us/req', 'origin runs', 'vs', 'req/s ratio (min-max)', 'CPU ratio (min-max)'];
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
        `${num(s.originRunShare * 100, 1)}%`,
        s.reference ?? '',
        s.ratio ? ratio(s.ratio.median, s.ratio.min, s.ratio.max) : '',
        s.cpuRatio ? ratio(s.cpuRatio.median, s.cpuRatio.min, s.cpuRatio.max) : '',
      ]),
    );
  },
  outage(rows) {
    const header = ['target', 'phase', 'served', 'failed', 'p50 ms', 'p99 ms', 'max ms', 'Redis hits resume after'];
    const lines = rows.flatMap((s) =>
      ['before', 'during', 'after'].map((phase, i) => {
        const p = s.phases[phase];
        const resume = i === 2 ? resumeText(s) : '';
        return [i === 0 ? s.target : '', phase === 'during' ? `during (${s.freezeSeconds}s)` : phase, num(p.served), num(p.failed), num(p.p50, 1), num(p.p99, 1), num(p.max), resume];
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
