// @ts-check
/**
 * The stats JSON as the dashboard reads it, and its figures written for people: counts, rates,
 * durations, sizes and times. Pure functions, no DOM, no state.
 *
 * Defines `figures` and the stats JSON's types. Uses nothing from the other script files.
 */

/**
 * The parts of the stats JSON (`StatsReport` in src/observe/stats-report.ts) the page reads. The page
 * checks each field before use, so most are optional here.
 * @typedef {object} Counters one name's counters, or the totals
 * @property {number} [total]
 * @property {number} [hits]
 * @property {number} [stale]
 * @property {number} [misses]
 * @property {number} [bypasses]
 * @property {number} [errors]
 * @property {number} [hitRate]
 *
 * @typedef {{ count: number, p50: number, p99: number }} LatencyReport
 *
 * @typedef {object} TierReport
 * @property {string} state `redis`, `memory` or `memory-only`
 * @property {string} breaker `closed`, `half-open`, `open` or `disabled`
 * @property {string} since
 * @property {number} [memoryEntries]
 * @property {number} [memoryBytes]
 * @property {number} [pendingInvalidations]
 * @property {number} [redisErrors]
 * @property {string} [nearCache] `live`, `off` or `disabled`
 * @property {{ near?: number, redis?: number, memory?: number }} [servedFrom] hits and stale hits by where they came from
 * @property {number} [refusedWrites] writes Redis refused (OOM, READONLY); their entries were kept in memory
 *
 * @typedef {{ names?: Record<string, Counters>, totals?: Counters, windowSeconds: number }} SharedReport
 *
 * @typedef {object} RedisReport
 * @property {string} usedMemory
 * @property {number} [usedMemoryBytes]
 * @property {number} [connectedClients]
 * @property {number} [keyspaceHits]
 * @property {number} [keyspaceMisses]
 *
 * @typedef {object} StatsJson
 * @property {string} generatedAt
 * @property {{ id?: string, uptimeSeconds?: number }} [instance]
 * @property {TierReport} tier
 * @property {Record<string, Counters>} names
 * @property {Counters} [totals]
 * @property {SharedReport | null} [shared]
 * @property {Record<string, LatencyReport | undefined>} [latency]
 * @property {RedisReport | null} [redis]
 */

const figures = (() => {
  const intFormat = new Intl.NumberFormat('en-US');
  const compactFormat = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });

  /**
   * The value if it is a finite number, else 0.
   * @param {unknown} v
   * @returns {number}
   */
  function num(v) { return typeof v === 'number' && isFinite(v) ? v : 0; }

  /**
   * Share of lookups answered from cache (stale answers count), or null before the first lookup.
   * @param {Counters | null | undefined} c
   * @returns {number | null}
   */
  function hitRate(c) {
    if (!c) return null;
    const looked = num(c.hits) + num(c.stale) + num(c.misses);
    if (looked === 0) return null;
    return typeof c.hitRate === 'number' ? c.hitRate : (num(c.hits) + num(c.stale)) / looked;
  }

  /** @param {unknown} n */
  function count(n) { return typeof n === 'number' && isFinite(n) ? intFormat.format(n) : '\u2014'; }

  /** @param {number} n */
  function compact(n) { return n >= 100000 ? compactFormat.format(n) : count(n); }

  /**
   * Floors, so that 99.96 % never reads as 100 %.
   * @param {number | null | undefined} r
   */
  function rate(r) {
    if (typeof r !== 'number' || !isFinite(r)) return '\u2014';
    return r >= 1 ? '100 %' : `${(Math.floor(r * 1000) / 10).toFixed(1)} %`;
  }

  /** @param {number | null | undefined} v milliseconds */
  function ms(v) {
    if (typeof v !== 'number' || !isFinite(v)) return '\u2014';
    if (v === 0) return '0 ms';
    if (v < 1) return `${v.toFixed(2)} ms`;
    if (v < 10) return `${v.toFixed(1)} ms`;
    if (v < 1000) return `${Math.round(v)} ms`;
    return `${parseFloat((v / 1000).toFixed(v < 10000 ? 2 : 1))} s`;
  }

  /** @param {number | null | undefined} s seconds */
  function duration(s) {
    if (typeof s !== 'number' || !isFinite(s) || s < 0) return '\u2014';
    if (s < 60) return `${Math.floor(s)} s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m} min ${Math.floor(s % 60)} s`;
    const h = Math.floor(m / 60);
    return h < 48 ? `${h} h ${m % 60} min` : `${Math.floor(h / 24)} d ${h % 24} h`;
  }

  /**
   * A configured window (the shared counters'), in the round unit it was most likely given in.
   * @param {unknown} seconds
   */
  function windowLength(seconds) {
    const s = num(seconds);
    if (s >= 172800 && s % 86400 === 0) return `${s / 86400} days`;
    if (s >= 3600 && s % 3600 === 0) return `${s / 3600} h`;
    if (s >= 60 && s % 60 === 0) return `${s / 60} min`;
    return duration(s);
  }

  /** @param {number} b */
  function bytes(b) {
    const units = ['B', 'KB', 'MB', 'GB', 'TB'];
    let i = 0;
    for (; b >= 1024 && i < units.length - 1; i++) b /= 1024;
    return `${i === 0 || b >= 100 ? Math.round(b) : b.toFixed(1)} ${units[i]}`;
  }

  /** @param {number} t epoch milliseconds */
  function clock(t) { return new Date(t).toLocaleTimeString(); }

  return Object.freeze({ num, hitRate, count, compact, rate, ms, duration, windowLength, bytes, clock });
})();
