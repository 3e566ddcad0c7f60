// Reads our cache's stats for the orchestrator. The shape of cache.stats() belongs to the package;
// this file is the one place that maps it to the few numbers the bench needs.

/** @param {{ stats(): any }} cache */
export function oursStats(cache) {
  const report = cache.stats();
  return {
    // Lookups Redis answered in time (hit or miss): the memory tier is a fallback, so while this moves the
    // Redis tier is serving. Compared with the hit counters of the peers, which only count hits.
    redisHits: number(report?.latency?.redis?.count),
    // What the memory tier holds is the cache only when memory is all of it or holds near-cache copies; a
    // Redis-backed build without a near-cache (an earlier build, say) keeps its entries in Redis.
    entries: report?.tier?.state === 'memory-only' || report?.tier?.nearCache === 'live' ? number(report?.tier?.memoryEntries) : undefined,
    tierState: report?.tier?.state,
    // 'live' once Redis reports every change to this instance: only then are near-cache copies kept.
    nearCache: report?.tier?.nearCache,
    breaker: report?.tier?.breaker,
    redisErrors: number(report?.tier?.redisErrors),
    totals: report?.totals,
  };
}

function number(value) {
  return typeof value === 'number' ? value : undefined;
}
