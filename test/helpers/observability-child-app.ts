// A small app run as its own process by the observability tests (see spawn-child-app.ts): an instance behind a load
// balancer, with the cache, its health and stats routers and a Prometheus endpoint. Configured by environment:
//   REDIS_URL       where the cache keeps entries and shared counters (required)
//   CACHE_PREFIX    key prefix, the same for instances that share figures (default 'rc:')
//   FLUSH_INTERVAL  stats.flushInterval (default '200ms')
// Prints one line `{"port":N}` on stdout once it listens; SIGTERM closes the cache (last flush) and exits.
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Registry } from 'prom-client';
import { healthRouter, resilientCache, statsRouter, type Duration } from '../../src/index.js';

const redis = process.env['REDIS_URL'];
if (!redis) throw new Error('REDIS_URL is required');
const cache = resilientCache({
  redis,
  prefix: process.env['CACHE_PREFIX'] ?? 'rc:',
  stats: { flushInterval: (process.env['FLUSH_INTERVAL'] ?? '200ms') as Duration },
});
const registry = new Registry();
cache.metrics(registry);

const app = express();
// Before the cache: the scrape endpoint is neither cached nor counted.
app.get('/metrics', async (_req, res) => {
  res.type(registry.contentType).send(await registry.metrics());
});
app.use(cache);
app.get('/items/:id', (req, res) => {
  res.type('text/plain').send(`item ${req.params.id}`);
});
app.get('/now', cache.route(false), (_req, res) => {
  res.type('text/plain').send(String(Date.now()));
});
// After the cache, as users mount them: the package's own routers must not count themselves.
app.use('/health', healthRouter(cache));
app.use('/stats', statsRouter(cache));

const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close();
  void cache.close().finally(() => process.exit(0));
});
