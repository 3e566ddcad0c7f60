// Ours with Redis (and the memory tier it falls back to): `resilientCache({ redis })` in front of the origin.
import { loadOurs } from '../lib/load-ours.js';
import { benchOverrides } from '../lib/ours-options.js';
import { origin, slow, startTarget } from '../lib/target-kit.js';
import { oursStats } from '../lib/ours-stats.js';

await startTarget('ours-redis', async (app) => {
  const { resilientCache } = await loadOurs();
  // Defaults, except where a scenario caches more entries than they hold (see lib/ours-options.js).
  const cache = resilientCache({ ...benchOverrides(), redis: process.env.REDIS_URL });
  mountCoherenceRoutes(app, cache);
  app.use(cache);
  app.get('/item/:n', origin);
  app.get('/slow/:n', slow);
  app.get('/coherence/:n', versioned);
  return { stats: () => oursStats(cache), close: () => cache.close() };
});

/** What the `coherence` origin answers: the data's current version, set by the driver. */
let version = 0;

/** An origin with no delay, so the time until an instance serves a new version is the cache's, not the origin's. */
function versioned(req, res) {
  res.type('json').send(JSON.stringify({ version }));
}

/**
 * The driver's doors for the `coherence` scenario, mounted before the cache so they are never cached (and, being
 * POSTs, never trigger the cache's unsafe-method invalidation). `resolvedNs` is CLOCK_MONOTONIC, the clock every
 * process on the machine shares, so the driver can set it beside its own readings of the other instance.
 */
function mountCoherenceRoutes(app, cache) {
  app.post('/__bench/version', (req, res) => {
    version = Number(req.query.v);
    res.json({ version });
  });
  app.post('/__bench/invalidate', async (req, res) => {
    const found = await cache.invalidate({ keys: [String(req.query.url)] });
    res.json({ found, resolvedNs: String(process.hrtime.bigint()) });
  });
}
