// Ours, memory tier only: `resilientCache({})` in front of the origin.
import { loadOurs } from '../lib/load-ours.js';
import { origin, slow, startTarget } from '../lib/target-kit.js';
import { oursStats } from '../lib/ours-stats.js';

await startTarget('ours-memory', async (app) => {
  const { resilientCache } = await loadOurs();
  // The memory scenario fills more entries than the default bound (10,000) and asks for room for all of
  // them; every other scenario runs the defaults.
  const maxEntries = Number(process.env.BENCH_MEMORY_MAX_ENTRIES);
  const cache = resilientCache(maxEntries > 0 ? { memory: { maxEntries } } : {});
  app.use(cache);
  app.get('/item/:n', origin);
  app.get('/slow/:n', slow);
  return { stats: () => oursStats(cache), close: () => cache.close() };
});
