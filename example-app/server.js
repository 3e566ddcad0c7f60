// The example app: `npm start` (memory only) or `REDIS_URL=redis://127.0.0.1:6379 npm start` (Redis, memory as fallback).
// It imports the package by its name: Node resolves a package's own name, through the `exports` map in the root
// package.json, for files inside that package, so this runs against the build in dist/ exactly as an installed copy would.
import { resilientCache } from 'express-resilient-cache';
import { createApp } from './app.js';
import { createCatalogue } from './data-source.js';

const port = Number(process.env.PORT ?? 3000);
const redisUrl = process.env.REDIS_URL || undefined;

const cache = resilientCache({ redis: redisUrl, ttl: '60s' });
if (redisUrl) {
  console.log(`cache: Redis at ${withoutPassword(redisUrl)}, memory tier as fallback`);
} else {
  console.log('cache: REDIS_URL is not set, so caching in this process\'s memory only (not shared, lost on restart)');
}
cache.on('degraded', (error) => {
  console.warn(`cache: Redis is not answering (${error instanceof Error ? error.message : String(error)}); serving from memory`);
});
cache.on('recovered', () => console.log('cache: Redis is back; serving from Redis again'));

const app = createApp({ cache, catalogue: createCatalogue({ delayMs: 150 }) });
const server = app.listen(port, (error) => {
  if (error) {
    console.error(`cannot listen on port ${port}: ${error.message}`);
    process.exitCode = 1;
    void cache.close();
    return;
  }
  console.log(`example app listening on http://localhost:${port}`);
  console.log(`  try: curl -i http://localhost:${port}/products   (twice: X-Cache MISS, then HIT)`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    console.log(`${signal}: closing`);
    // Keep-alive connections would hold server.close() open; a stuck close must not hold the process forever.
    setTimeout(() => process.exit(1), 5000).unref();
    server.close(() => void cache.close().then(() => console.log('closed')));
    server.closeIdleConnections();
  });
}

/** Redis URLs may carry a password; it must never reach a log. */
function withoutPassword(url) {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}
