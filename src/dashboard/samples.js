// @ts-check
/**
 * The dashboard's memory: one sample per poll for the last ten minutes, holding the counters' growth
 * since the poll before (the stats report lifetime counters), the tier state and the latency
 * percentiles, and the rates and runs the overview and the charts read from them.
 *
 * Defines `createSamples`. Uses `figures` (figures.js).
 */

/**
 * @typedef {{ g: number, m: number }} Delta lookups answered from cache (`g`: hits and stale) and misses
 * @typedef {{ p50: number, p99: number, count: number }} LatencyPoint
 *
 * @typedef {object} Sample
 * @property {number} t when it was taken, epoch milliseconds
 * @property {boolean} ok false for a failed poll
 * @property {string} tier the tier state, `unreachable` for a failed poll
 * @property {Record<string, Delta | null>} names per name; null after a counter went back
 * @property {Delta | null} total
 * @property {Record<string, LatencyPoint | null>} latency per tier; null when nothing was timed
 *
 * @typedef {(s: Sample) => Delta | null | undefined} PickDelta
 * @typedef {ReturnType<typeof createSamples>} Samples
 */

/** @param {{ intervalMs: number }} options the poll interval */
function createSamples({ intervalMs }) {
  const WINDOW_MS = 10 * 60 * 1000;
  const RECENT_MS = 60 * 1000;
  const SMOOTH_MS = 10 * 1000;
  const LATENCY_TIERS = Object.freeze(['memory', 'redis', 'handler']);

  /** @type {Sample[]} */
  const samples = [];
  /**
   * The last counters seen, to turn lifetime counters into per-poll deltas.
   * @type {{ id: string | undefined, total: Delta, names: Record<string, Delta> } | null}
   */
  let baseline = null;

  /** @param {Counters | undefined} c */
  function counts(c) {
    return { g: figures.num(c && c.hits) + figures.num(c && c.stale), m: figures.num(c && c.misses) };
  }

  /**
   * @param {Delta} now
   * @param {Delta} before
   * @returns {Delta | null} null when the counters went back: a reset or a restart
   */
  function diff(now, before) {
    const g = now.g - before.g;
    const m = now.m - before.m;
    return g < 0 || m < 0 ? null : { g, m };
  }

  /**
   * @param {StatsJson} data
   * @param {number} t
   * @returns {Sample}
   */
  function takeSample(data, t) {
    const id = data.instance && data.instance.id;
    const base = baseline && baseline.id === id ? baseline : null;
    /** @type {NonNullable<typeof baseline>} */
    const next = { id, total: counts(data.totals), names: {} };
    /** @type {Sample} */
    const sample = { t, ok: true, tier: data.tier.state, names: {}, total: base ? diff(next.total, base.total) : null, latency: {} };
    Object.keys(data.names).forEach((name) => {
      const now = counts(data.names[name]);
      next.names[name] = now;
      if (base) sample.names[name] = diff(now, base.names[name] || { g: 0, m: 0 });
    });
    LATENCY_TIERS.forEach((tier) => {
      const l = data.latency && data.latency[tier];
      sample.latency[tier] = l && l.count > 0 ? { p50: figures.num(l.p50), p99: figures.num(l.p99), count: figures.num(l.count) } : null;
    });
    baseline = next;
    return sample;
  }

  /** @param {Sample} sample */
  function add(sample) {
    samples.push(sample);
    while (samples.length && samples[0].t < sample.t - WINDOW_MS) samples.shift();
  }

  /**
   * Hit rate over the last minute of samples, or null without lookups.
   * @param {PickDelta} pick
   */
  function recentRate(pick) {
    let g = 0;
    let m = 0;
    const from = Date.now() - RECENT_MS;
    samples.forEach((s) => {
      const d = s.t >= from ? pick(s) : null;
      if (d) { g += d.g; m += d.m; }
    });
    return g + m > 0 ? g / (g + m) : null;
  }

  /**
   * Hit rate at each sample over the deltas of the preceding few seconds: one poll alone holds too few
   * lookups for a quiet name, and its rate would jump between 0 and 100 %.
   * @param {PickDelta} pick
   * @returns {(number | null)[]}
   */
  function smoothedRates(pick) {
    const span = Math.max(SMOOTH_MS, intervalMs * 3);
    /** @type {(number | null)[]} */
    const out = [];
    let g = 0;
    let m = 0;
    let j = 0;
    samples.forEach((s) => {
      const d = pick(s);
      if (d) { g += d.g; m += d.m; }
      for (; samples[j].t <= s.t - span; j++) {
        const old = pick(samples[j]);
        if (old) { g -= old.g; m -= old.m; }
      }
      out.push(s.ok && g + m > 0 ? g / (g + m) : null);
    });
    return out;
  }

  /**
   * The busiest names over the window, listed by name so legend order stays put as traffic shifts.
   * @param {number} limit
   */
  function busiestNames(limit) {
    /** @type {Map<string, number>} */
    const traffic = new Map();
    samples.forEach((s) => {
      Object.keys(s.names).forEach((name) => {
        const d = s.names[name];
        if (d) traffic.set(name, (traffic.get(name) || 0) + d.g + d.m);
      });
    });
    const of = (/** @type {string} */ name) => traffic.get(name) || 0;
    return Array.from(traffic.keys())
      .filter((name) => of(name) > 0)
      .sort((a, b) => of(b) - of(a))
      .slice(0, limit)
      .sort();
  }

  /**
   * Consecutive samples in the same state merged into runs; a sample stands until the next one, or for
   * one interval when the next came after a pause longer than `maxGap`.
   * @param {number} now
   * @param {number} maxGap
   * @returns {Run[]}
   */
  function tierRuns(now, maxGap) {
    /** @type {Run[]} */
    const runs = [];
    samples.forEach((s, i) => {
      const next = samples[i + 1];
      let to = next ? next.t : now;
      if (to - s.t > maxGap) to = s.t + intervalMs;
      const last = runs[runs.length - 1];
      if (last && last.state === s.tier && last.to >= s.t) last.to = to;
      else runs.push({ from: s.t, to, state: s.tier });
    });
    return runs;
  }

  return Object.freeze({
    windowMs: WINDOW_MS,
    latencyTiers: LATENCY_TIERS,
    /** The samples, oldest first. @type {readonly Sample[]} */
    list: samples,
    /**
     * Records a successful poll.
     * @param {StatsJson} data
     * @param {number} t
     */
    record(data, t) { add(takeSample(data, t)); },
    /**
     * Records a failed poll: a gap in the lines, `unreachable` in the tier band.
     * @param {number} t
     */
    recordFailure(t) { add({ t, ok: false, tier: 'unreachable', names: {}, total: null, latency: {} }); },
    recentRate,
    smoothedRates,
    busiestNames,
    tierRuns,
  });
}
