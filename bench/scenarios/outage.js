// `outage`: Redis frozen (SIGSTOP: sockets open, no answers) for a while in the middle of a steady run
// over 1,000 cached URLs. What users feel when their Redis hangs.
import { runLoad } from '../lib/load.js';
import { spreadPaths } from '../lib/paths.js';
import { createPhaseRecorder } from '../lib/phase-recorder.js';
import { watchRedisHits } from '../lib/resume-watch.js';
import { nearCacheLive } from '../lib/target-ready.js';
import { REDIS_TARGETS } from '../lib/targets.js';

const URLS = 1000;
const BEFORE_S = 5;
const AFTER_S = 10;

export default {
  name: 'outage',
  kind: 'outage',
  description: `Redis SIGSTOPped mid-run over ${URLS} cached URLs`,
  targets: REDIS_TARGETS,
  async measure(target, ctx) {
    const { connections, outageFreeze } = ctx.flags;
    await nearCacheLive(target);
    await runLoad({ base: target.base, path: spreadPaths(URLS), amount: URLS, connections, maxSeconds: 60 });
    // Long enough that a request stuck for the whole freeze shows up as its real latency, not as a timeout.
    const timeoutS = outageFreeze + 5;
    const recorder = createPhaseRecorder({ timeoutMs: timeoutS * 1000 });
    const watch = watchRedisHits(target);
    const timers = scheduleFreeze(ctx.redis, recorder.bounds, BEFORE_S, outageFreeze);
    try {
      await runLoad({
        base: target.base,
        path: spreadPaths(URLS),
        duration: BEFORE_S + outageFreeze + AFTER_S,
        connections,
        timeout: timeoutS,
        onResponse: recorder.onResponse,
        onError: recorder.onError,
      });
    } finally {
      timers.forEach(clearTimeout);
      ctx.redis.thaw();
      await watch.stop();
    }
    const { phases, timeline } = recorder.summary();
    return { phases, timeline, freezeSeconds: outageFreeze, resumeSeconds: watch.resumeSeconds(recorder.bounds.thawAt) };
  },
};

function scheduleFreeze(redis, bounds, beforeS, freezeS) {
  const freeze = setTimeout(() => {
    bounds.freezeAt = Date.now();
    redis.freeze();
  }, beforeS * 1000);
  const thaw = setTimeout(() => {
    bounds.thawAt = Date.now();
    redis.thaw();
  }, (beforeS + freezeS) * 1000);
  return [freeze, thaw];
}
