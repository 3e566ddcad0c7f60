// Sorts each response of the outage run into before / during / after the Redis freeze, by the time the
// request was sent (completion time minus latency), and keeps a per-second timeline for the JSON output.
import { percentile } from './stats.js';

export const PHASES = ['before', 'during', 'after'];
/** An answer later than this counts as slow: what a user notices, and the bound the outage promise is made in. */
export const SLOW_MS = 1000;

export function createPhaseRecorder({ timeoutMs }) {
  const startedAt = Date.now();
  const bounds = { freezeAt: Infinity, thawAt: Infinity };
  const phases = Object.fromEntries(PHASES.map((p) => [p, { latencies: [], ok: 0, non2xx: 0, errors: 0, timeouts: 0, slow: 0 }]));
  const timeline = [];
  const phaseOf = (sentAt) => (sentAt < bounds.freezeAt ? 'before' : sentAt < bounds.thawAt ? 'during' : 'after');
  const second = (now) => (timeline[Math.floor((now - startedAt) / 1000)] ??= { served: 0, failed: 0 });

  return {
    bounds,
    onResponse(status, latencyMs) {
      const now = Date.now();
      const phase = phases[phaseOf(now - latencyMs)];
      phase.latencies.push(latencyMs);
      if (latencyMs > SLOW_MS) phase.slow++;
      if (status >= 200 && status < 300) {
        phase.ok++;
        second(now).served++;
      } else {
        phase.non2xx++;
        second(now).failed++;
      }
    },
    onError(err) {
      const now = Date.now();
      const timedOut = err?.message === 'request timed out';
      const phase = phases[phaseOf(timedOut ? now - timeoutMs : now)];
      if (timedOut) phase.timeouts++;
      else phase.errors++;
      second(now).failed++;
    },
    summary() {
      const out = {};
      for (const name of PHASES) {
        const { latencies, ...counts } = phases[name];
        out[name] = { ...counts, p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.length ? Math.max(...latencies) : NaN };
      }
      return { phases: out, timeline: timeline.map((s) => s ?? { served: 0, failed: 0 }) };
    },
  };
}
