// `miss`: every request a URL never seen before: what a cache adds to uncached traffic (lookup, capture, store).
import { measureThroughput } from '../lib/measure-throughput.js';
import { missPaths } from '../lib/paths.js';
import { CACHE_TARGETS } from '../lib/targets.js';

let run = 0;

export default {
  name: 'miss',
  kind: 'throughput',
  description: 'every request a new URL (20 ms origin behind it)',
  targets: ['origin', ...CACHE_TARGETS],
  reference: (target) => (target === 'origin' ? undefined : 'origin'),
  measure: (target, ctx) => {
    // A fresh tag per call so warm-up and measured requests never repeat a URL.
    const tag = `${process.pid}.${++run}`;
    let part = 0;
    return measureThroughput(target, ctx, { path: () => missPaths(`${tag}.${part++}`) });
  },
};
