// What each target is, which scenarios it takes part in, and what its ratios are measured against.

/** Target name -> role. `redis`: keeps responses in Redis; `memory`: in the app's heap. */
export const TARGETS = {
  raw: { role: 'ceiling' },
  origin: { role: 'origin' },
  handwritten: { role: 'redis' },
  apicache: { role: 'memory' },
  'route-cache': { role: 'memory' },
  'route-cache-redis': { role: 'redis' },
  'ours-memory': { role: 'memory' },
  'ours-redis': { role: 'redis' },
  // The same two apps on an earlier build (`--baseline DIR`), so a change is measured before and after in one run.
  'ours-memory-base': { role: 'memory', baseline: true },
  'ours-redis-base': { role: 'redis', baseline: true },
};

/** Baseline targets run the script of the target they copy, against the build in BENCH_OURS_DIST. */
export function scriptOf(target) {
  return TARGETS[target]?.baseline ? target.replace(/-base$/, '') : target;
}

export const ALL_TARGETS = Object.keys(TARGETS);
export const CACHE_TARGETS = ALL_TARGETS.filter((t) => TARGETS[t].role === 'redis' || TARGETS[t].role === 'memory');
export const REDIS_TARGETS = ALL_TARGETS.filter((t) => TARGETS[t].role === 'redis');
export const MEMORY_TARGETS = ALL_TARGETS.filter((t) => TARGETS[t].role === 'memory');

/**
 * The reference a cache hit is compared with: the ceiling for memory caches (and for the hand-written
 * Redis floor itself), the hand-written floor for Redis-backed caches.
 * @returns {string | undefined}
 */
export function hitReference(target) {
  if (target === 'handwritten') return 'raw';
  const role = TARGETS[target]?.role;
  if (role === 'memory') return 'raw';
  if (role === 'redis') return 'handwritten';
  return undefined;
}

/** Whether the target needs the bench's redis-server. */
export function usesRedis(target) {
  return TARGETS[target]?.role === 'redis';
}
