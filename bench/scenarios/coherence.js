// `coherence`: two instances of a Redis-backed target on one redis-server, same prefix, same keys. Instance A
// serves one URL from its near-cache to a tight request loop; instance B invalidates the entry. Measured: the time
// from B's `invalidate()` resolving until A first answers with the new body, and how many requests A was sent after
// that moment and still answered with the old one.
import { Agent, request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { nearCacheLive } from '../lib/target-ready.js';
import { startTargetProcess } from '../lib/target-process.js';

const PATH = '/coherence/1';
/** Longest one sample may wait for the new body before it counts as never seen. */
const SAMPLE_TIMEOUT_MS = 2000;

export default {
  name: 'coherence',
  kind: 'coherence',
  description: 'instance B invalidates a URL instance A serves from its near-cache: until A serves the new body',
  targets: ['ours-redis', 'ours-redis-base'],
  async measure(a, ctx) {
    const b = await startTargetProcess(a.name, { redisUrl: ctx.redis.url, scenario: 'coherence' });
    await Promise.all([nearCacheLive(a), nearCacheLive(b)]);
    const poller = startPoller(`${a.base}${PATH}`);
    try {
      await a.post('/__bench/version?v=0');
      await poller.until((r) => r.version === 0 && r.xCache === 'HIT', SAMPLE_TIMEOUT_MS);
      const samples = [];
      for (let v = 1; v <= ctx.flags.coherenceSamples; v++) samples.push(await sample(a, b, poller, v));
      return summarise(samples);
    } finally {
      await poller.stop();
      await b.stop();
    }
  },
};

/** One invalidation: the data changes at A's origin, B invalidates, the loop on A waits for the new version. */
async function sample(a, b, poller, v) {
  await a.post(`/__bench/version?v=${v}`);
  const { resolvedNs, found } = await b.post(`/__bench/invalidate?url=${encodeURIComponent(`${a.base}${PATH}`)}`);
  const resolvedMs = Number(BigInt(resolvedNs)) / 1e6;
  const fresh = await poller.until((r) => r.version === v, SAMPLE_TIMEOUT_MS);
  const stale = poller.responses.filter((r) => r.sentMs > resolvedMs && r.version < v).length;
  // Next sample starts from a near-cache copy of the new version, at a random phase of any timer in the cache.
  await poller.until((r) => r.version === v && r.xCache === 'HIT', SAMPLE_TIMEOUT_MS);
  poller.responses.length = 0;
  await sleep(Math.random() * 5);
  // The first new body's own round trip: A's refill (a Redis miss and the origin), apart from the wait for the news.
  const refillMs = fresh ? fresh.doneMs - Math.max(fresh.sentMs, resolvedMs) : NaN;
  return { found, propagationMs: fresh ? fresh.doneMs - resolvedMs : Infinity, refillMs, stale };
}

function summarise(samples) {
  const seen = samples.filter((s) => Number.isFinite(s.propagationMs));
  return {
    samples: samples.length,
    notSeen: samples.length - seen.length,
    notFound: samples.filter((s) => !s.found).length,
    staleRequests: samples.reduce((n, s) => n + s.stale, 0),
    samplesWithStale: samples.filter((s) => s.stale > 0).length,
    propagationMs: samples.map((s) => s.propagationMs),
    refillMs: samples.map((s) => s.refillMs),
  };
}

/**
 * Sends GETs to `url` one after another on one keep-alive connection, for as long as it runs. Times are
 * CLOCK_MONOTONIC in ms (process.hrtime), the clock instance B reports its invalidation on.
 */
function startPoller(url) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const responses = [];
  const waiters = new Set();
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const r = await timedGet(url, agent);
      responses.push(r);
      for (const w of waiters) if (w.test(r)) w.resolve(r);
      // A refused connection fails at once: do not spin on it.
      if (r.status === 0) await sleep(10);
    }
  })();
  return {
    responses,
    /** Resolves with the first response from now on that passes `test`, or undefined after `timeoutMs`. */
    until(test, timeoutMs) {
      return new Promise((resolve) => {
        const waiter = { test, resolve: (r) => done(r) };
        const timer = setTimeout(() => done(undefined), timeoutMs);
        const done = (r) => {
          clearTimeout(timer);
          waiters.delete(waiter);
          resolve(r);
        };
        waiters.add(waiter);
      });
    },
    async stop() {
      stopped = true;
      await loop;
      agent.destroy();
    },
  };
}

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

function timedGet(url, agent) {
  const sentMs = nowMs();
  return new Promise((resolve) => {
    const req = request(url, { agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const doneMs = nowMs();
        let version;
        try {
          version = JSON.parse(Buffer.concat(chunks).toString('utf8')).version;
        } catch {
          // not the versioned body: counts as neither old nor new
        }
        resolve({ sentMs, doneMs, status: res.statusCode, version, xCache: res.headers['x-cache'] });
      });
    });
    req.setTimeout(SAMPLE_TIMEOUT_MS, () => req.destroy(new Error('timed out')));
    req.on('error', () => resolve({ sentMs, doneMs: nowMs(), status: 0 }));
    req.end();
  });
}
