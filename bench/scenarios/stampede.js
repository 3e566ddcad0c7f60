// `stampede`: 200 concurrent requests for one cold URL whose handler takes 200 ms. A cache that
// coalesces runs the handler once; one that does not runs it up to 200 times.
import { BODY } from '../lib/body.js';
import { getText } from '../lib/http-json.js';
import { percentile } from '../lib/stats.js';
import { CACHE_TARGETS } from '../lib/targets.js';

const CONCURRENT = 200;

export default {
  name: 'stampede',
  kind: 'stampede',
  description: `${CONCURRENT} concurrent requests for one cold URL (200 ms handler)`,
  targets: CACHE_TARGETS,
  async measure(target, ctx) {
    const path = `/slow/${ctx.round}`;
    const before = await target.cpu();
    const replies = await Promise.all(Array.from({ length: CONCURRENT }, () => timedGet(`${target.base}${path}`)));
    const after = await target.cpu();
    const latencies = replies.map((r) => r.ms);
    return {
      handlerRuns: after.slowRuns - before.slowRuns,
      ok: replies.filter((r) => r.status === 200 && r.body === BODY).length,
      wrongBody: replies.filter((r) => r.status === 200 && r.body !== BODY).length,
      non2xx: replies.filter((r) => r.status !== undefined && (r.status < 200 || r.status >= 300)).length,
      errors: replies.filter((r) => r.error).length,
      p50: percentile(latencies, 50),
      max: Math.max(...latencies),
    };
  },
};

async function timedGet(url) {
  const start = performance.now();
  try {
    const res = await getText(url, 10_000);
    return { status: res.status, body: res.body, ms: performance.now() - start };
  } catch (err) {
    return { error: err.message, ms: performance.now() - start };
  }
}
