// Options the bench gives our targets beyond the ones each target names: room in the memory tier when a scenario
// caches more entries than the defaults hold (the memory scenario, spread with a large --urls), and then a TTL
// long enough to outlast the fill. Without these variables every option is the package's default.

/** @returns {{ memory?: { maxEntries?: number, maxBytes?: number }, ttl?: string }} */
export function benchOverrides() {
  const maxEntries = Number(process.env.BENCH_MAX_ENTRIES);
  const maxBytes = Number(process.env.BENCH_MAX_BYTES);
  const memory = {};
  if (maxEntries > 0) memory.maxEntries = maxEntries;
  if (maxBytes > 0) memory.maxBytes = maxBytes;
  const out = {};
  if (Object.keys(memory).length) out.memory = memory;
  if (process.env.BENCH_TTL) out.ttl = process.env.BENCH_TTL;
  return out;
}
