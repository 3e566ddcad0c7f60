// Ours, memory tier only: `resilientCache({})` in front of the origin.
import { loadOurs } from '../lib/load-ours.js';
import { benchOverrides } from '../lib/ours-options.js';
import { origin, slow, startTarget } from '../lib/target-kit.js';
import { oursStats } from '../lib/ours-stats.js';

await startTarget('ours-memory', async (app) => {
  const { resilientCache } = await loadOurs();
  // Defaults, except where a scenario caches more entries than they hold (see lib/ours-options.js).
  const cache = resilientCache(benchOverrides());
  app.use(cache);
  app.get('/item/:n', origin);
  app.get('/slow/:n', slow);
  return { stats: () => oursStats(cache), close: () => cache.close() };
});
