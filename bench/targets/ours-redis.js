// Ours with Redis (and the memory tier it falls back to): `resilientCache({ redis })` in front of the origin.
import { loadOurs } from '../lib/load-ours.js';
import { origin, slow, startTarget } from '../lib/target-kit.js';
import { oursStats } from '../lib/ours-stats.js';

await startTarget('ours-redis', async (app) => {
  const { resilientCache } = await loadOurs();
  const cache = resilientCache({ redis: process.env.REDIS_URL });
  app.use(cache);
  app.get('/item/:n', origin);
  app.get('/slow/:n', slow);
  return { stats: () => oursStats(cache), close: () => cache.close() };
});
