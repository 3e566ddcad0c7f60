import { Agent, request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import express from 'express';
import {
  healthRouter, resilientCache, statsRouter, type NameStats, type ResilientCache, type ResilientCacheOptions,
} from '../../src/index.js';
import { listen } from './app.js';

/** An app with one route of each kind the counters tell apart, plus the health and stats routers. */
export interface ObservedApp {
  /** `http://127.0.0.1:PORT` */
  readonly base: string;
  readonly cache: ResilientCache;
  /** How many times each `getOrSet` fetcher ran. */
  readonly fetches: { count: number };
  close(): Promise<void>;
}

/**
 * The routes, and the counter name each is kept under:
 * - `GET /items/:id`   cached by `app.use(cache)`                                   -> `/items/:id`
 * - `GET /now`         `cache.route(false)`                                          -> `/now` (bypasses)
 * - `GET /private/:id` cached route, but requests carry `Authorization`              -> `/private/:id` (bypasses)
 * - `GET /nostore/:id` answers `Cache-Control: no-store`                             -> `/nostore/:id` (misses)
 * - `GET /value/:id`   mounted before the cache, answers from `getOrSet(name: 'values')` -> `values`
 * - `/health`, `/health-strict` (warnAs503) and `/stats`, mounted after `app.use(cache)`: never counted.
 */
export async function startObservedApp(options: ResilientCacheOptions): Promise<ObservedApp> {
  const cache = resilientCache(options);
  const fetches = { count: 0 };
  const app = express();
  app.get('/value/:id', async (req, res) => {
    const id = String(req.params.id);
    const value = await cache.getOrSet(`value:${id}`, async () => {
      fetches.count++;
      return { id, at: Date.now() };
    }, { name: 'values', ttl: '5m' });
    res.json(value);
  });
  app.use(cache);
  app.get('/items/:id', (req, res) => void res.type('text/plain').send(`item ${req.params.id}`));
  app.get('/now', cache.route(false), (_req, res) => void res.type('text/plain').send(String(Date.now())));
  app.get('/private/:id', (req, res) => void res.type('text/plain').send(`private ${req.params.id}`));
  app.get('/nostore/:id', (req, res) => void res.set('Cache-Control', 'no-store').type('text/plain').send(`nostore ${req.params.id}`));
  app.use('/health', healthRouter(cache));
  app.use('/health-strict', healthRouter(cache, { warnAs503: true }));
  app.use('/stats', statsRouter(cache));
  const running = await listen(app);
  return {
    base: running.base,
    cache,
    fetches,
    async close() {
      await running.close();
      await cache.close();
    },
  };
}

/** One request of a mix: where it goes, the counter name it must land under, and any headers. */
export interface Planned {
  readonly path: string;
  readonly name: string;
  readonly headers?: Record<string, string>;
}

/** The counter name each observed-app path is kept under. */
export function planned(path: string): Planned {
  if (path.startsWith('/items/')) return { path, name: '/items/:id' };
  if (path === '/now') return { path, name: '/now' };
  if (path.startsWith('/private/')) return { path, name: '/private/:id', headers: { authorization: 'Bearer t0ken' } };
  if (path.startsWith('/nostore/')) return { path, name: '/nostore/:id' };
  if (path.startsWith('/value/')) return { path, name: 'values' };
  throw new Error(`no plan for ${path}`);
}

/** A mixed list of `count` requests over every kind of route, `ids` distinct ids per route, shuffled. */
export function mixedPlan(count: number, ids: number, seed = 1): Planned[] {
  const kinds = [(i: number) => `/items/${i}`, () => '/now', (i: number) => `/private/${i}`, (i: number) => `/nostore/${i}`,
    (i: number) => `/value/${i}`];
  let state = seed;
  const random = () => (state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const plan = Array.from({ length: count }, (_, i) => {
    const kind = kinds[i % kinds.length] as (i: number) => string;
    return planned(kind(Math.floor(random() * ids)));
  });
  for (let i = plan.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [plan[i], plan[j]] = [plan[j] as Planned, plan[i] as Planned];
  }
  return plan;
}

/** What the client saw for one name. */
export interface Seen {
  sent: number;
  /** Responses by `X-Cache` value ('' when absent). */
  xCache: Record<string, number>;
  /** Responses that were not 200. */
  notOk: number;
}

/** Sends every planned request, `inFlight` at a time over keep-alive sockets; tallies the answers per name. */
export async function sendAll(base: string, plan: readonly Planned[], inFlight: number): Promise<Map<string, Seen>> {
  const agent = new Agent({ keepAlive: true, maxSockets: inFlight });
  const seen = new Map<string, Seen>();
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < plan.length; i = next++) {
      const item = plan[i] as Planned;
      const { status, xCache } = await get(agent, base, item);
      let tally = seen.get(item.name);
      if (!tally) seen.set(item.name, (tally = { sent: 0, xCache: {}, notOk: 0 }));
      tally.sent++;
      tally.xCache[xCache] = (tally.xCache[xCache] ?? 0) + 1;
      if (status !== 200) tally.notOk++;
    }
  };
  try {
    await Promise.all(Array.from({ length: inFlight }, worker));
  } finally {
    agent.destroy();
  }
  return seen;
}

function get(agent: Agent, base: string, item: Planned): Promise<{ status: number; xCache: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${item.path}`, { agent, headers: item.headers }, (res) => {
      res.resume();
      res.on('end', () => {
        const header = res.headers['x-cache'];
        resolve({ status: res.statusCode ?? 0, xCache: typeof header === 'string' ? header : '' });
      });
      res.on('error', reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer to ${item.path} in 10 s`)));
    req.on('error', reject);
    req.end();
  });
}

/** hits + misses + stale + bypasses: every request or call the name saw. */
export function outcomes(stats: Pick<NameStats, 'hits' | 'misses' | 'stale' | 'bypasses'>): number {
  return stats.hits + stats.misses + stats.stale + stats.bypasses;
}

/**
 * Waits until the local counters stop moving (stores are counted after the response went out), polling every 50 ms
 * until two readings 150 ms apart agree; gives up after `timeoutMs`.
 */
export async function settled(cache: ResilientCache, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  let last = JSON.stringify(cache.stats().names);
  let stableSince = Date.now();
  while (Date.now() < end) {
    await sleep(50);
    const now = JSON.stringify(cache.stats().names);
    if (now !== last) {
      last = now;
      stableSince = Date.now();
    } else if (Date.now() - stableSince >= 150) {
      return;
    }
  }
  throw new Error(`counters still moving after ${timeoutMs} ms`);
}

/** Only the counter fields of a name's figures, for comparing local with shared. */
export function counters(stats: NameStats | undefined): Record<string, number> | undefined {
  if (!stats) return undefined;
  const { hits, misses, stale, bypasses, errors, stores, total } = stats;
  return { hits, misses, stale, bypasses, errors, stores, total };
}
