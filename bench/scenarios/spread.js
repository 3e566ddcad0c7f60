// `spread`: 1,000 distinct URLs, all cached by a fill pass first: hits that do not share one hot entry.
import { measureThroughput } from '../lib/measure-throughput.js';
import { spreadPaths } from '../lib/paths.js';
import { CACHE_TARGETS, hitReference } from '../lib/targets.js';

const URLS = 1000;

export default {
  name: 'spread',
  kind: 'throughput',
  description: `${URLS} distinct URLs, cached by a fill pass first`,
  targets: ['raw', ...CACHE_TARGETS],
  reference: hitReference,
  measure: (target, ctx) =>
    measureThroughput(target, ctx, { fill: { path: spreadPaths(URLS), count: URLS }, path: () => spreadPaths(URLS) }),
};
