// `hot`: one URL, always cached after the first request: the pure hit path.
import { measureThroughput } from '../lib/measure-throughput.js';
import { HOT_PATH } from '../lib/paths.js';
import { CACHE_TARGETS, hitReference } from '../lib/targets.js';

export default {
  name: 'hot',
  kind: 'throughput',
  description: 'one URL, cached: the hit path',
  targets: ['raw', ...CACHE_TARGETS],
  reference: hitReference,
  measure: (target, ctx) => measureThroughput(target, ctx, { fill: { path: () => HOT_PATH, paths: () => () => HOT_PATH, count: 1 }, path: () => HOT_PATH }),
};
