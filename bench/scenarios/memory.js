// `memory`: bytes of process memory per cached 1 KB entry in an in-memory cache. Fill a small warm-up set
// first (so lazily created things are not charged to entries), measure, fill N more, measure again.
import { runLoad } from '../lib/load.js';
import { fillPaths } from '../lib/paths.js';
import { MEMORY_TARGETS } from '../lib/targets.js';

const WARM = 1000;
const N = 20_000;

export default {
  name: 'memory',
  kind: 'memory',
  description: `process memory per cached 1 KB entry (${N} entries)`,
  targets: MEMORY_TARGETS,
  // Room for every entry, in case a cache's default bound is lower than the fill (read by lib/ours-options.js).
  targetEnv: () => ({ BENCH_MAX_ENTRIES: String(2 * (N + WARM)) }),
  async measure(target) {
    const fill = (prefix, count) =>
      runLoad({ base: target.base, path: fillPaths(prefix), amount: count, connections: 100, maxSeconds: 120 });
    await fill('w', WARM);
    const [heap0, stats0] = [await target.heap(), await target.stats()];
    const load = await fill('m', N);
    const [heap1, stats1] = [await target.heap(), await target.stats()];
    const counted = typeof stats0.entries === 'number' && typeof stats1.entries === 'number';
    const entries = counted ? stats1.entries - stats0.entries : N;
    const heap = heap1.heapUsed - heap0.heapUsed;
    const external = heap1.external - heap0.external;
    return {
      entries,
      entriesCounted: counted,
      failed: load.errors + load.non2xx,
      heapPerEntry: heap / entries,
      externalPerEntry: external / entries,
      totalPerEntry: (heap + external) / entries,
      gc: heap1.gc,
    };
  },
};
