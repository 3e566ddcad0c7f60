// `spread`: N distinct URLs (--urls, default 1,000), all cached by a fill pass first: hits that do not share one
// hot entry. One scenario per count asked for, so the hit cost can be read from 10 to 100,000 URLs in one run.
import { measureThroughput } from '../lib/measure-throughput.js';
import { spreadPaths } from '../lib/paths.js';
import { CACHE_TARGETS, hitReference } from '../lib/targets.js';

/** The package's default memory bound; below it no option changes. */
const DEFAULT_MAX_ENTRIES = 10_000;
/** Room per entry in the raised byte bounds: a 1 KB body and its headers, key and bookkeeping, with margin. */
const BYTES_PER_ENTRY = 4096;

/** @param {number} urls */
export function spreadScenario(urls) {
  return {
    name: `spread-${urls}`,
    family: 'spread',
    urls,
    kind: 'throughput',
    description: `${urls.toLocaleString('en-US')} distinct URLs, cached by a fill pass first`,
    targets: ['raw', ...CACHE_TARGETS],
    reference: hitReference,
    targetEnv: () => roomFor(urls),
    measure: (target, ctx) =>
      measureThroughput(target, ctx, { fill: { path: spreadPaths(urls), paths: () => spreadPaths(urls), count: urls }, path: () => spreadPaths(urls) }),
  };
}

/**
 * Bounds that hold every URL, for the targets that have any (ours-*, route-cache); the defaults below 10,000. The
 * TTL then goes from ours' default 60 s to the peers' 10 minutes, as a fill of 100,000 misses can take most of a
 * minute on this machine.
 */
function roomFor(urls) {
  if (urls <= DEFAULT_MAX_ENTRIES * 0.9) return {};
  return {
    BENCH_MAX_ENTRIES: String(Math.ceil(urls * 1.1) + 1000),
    BENCH_MAX_BYTES: String(Math.max(64 * 1024 * 1024, urls * BYTES_PER_ENTRY)),
    BENCH_TTL: '10m',
  };
}
