// A second instance of the app for cross-process tests: `node --import tsx test/helpers/slow-child.ts`.
// Reads the cache options as JSON from CACHE_OPTIONS, prints `{"url": "http://127.0.0.1:PORT"}` on one line once it
// listens (and, with redis, once the cache is on Redis), and exits when its stdin closes (so it dies with its parent).
import { setTimeout as sleep } from 'node:timers/promises';
import { startCachedApp } from './cached-app.js';
import { slowRoutes } from './slow-routes.js';

const options = JSON.parse(process.env['CACHE_OPTIONS'] ?? '{}') as Parameters<typeof startCachedApp>[0];
const app = await startCachedApp(options, slowRoutes);
for (let waited = 0; options.redis !== undefined && app.cache.tier !== 'redis' && waited < 5000; waited += 10) await sleep(10);
process.stdout.write(`${JSON.stringify({ url: app.url, tier: app.cache.tier })}\n`);
process.stdin.resume();
process.stdin.on('end', () => void app.close().finally(() => process.exit(0)));
