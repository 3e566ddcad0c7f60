import { after, before } from 'node:test';
import express, { type Express } from 'express';
import { createCache } from '../../src/cache.js';
import { resilientCache, type ResilientCache, type ResilientCacheOptions } from '../../src/index.js';
import { listen, redisReady, STEADY, type RunningApp } from './app.js';
import type { FakeClock } from './fake-clock.js';
import { startRedisServer, type RedisServer } from './redis-server.js';

export interface RedisApps {
  /** The file's redis-server (started by its `before` hook). */
  readonly server: RedisServer;
  /**
   * An app whose cache uses the server under a prefix of its own (`<name><n>:`), on `clock` when given; `setup` mounts
   * the cache and the routes. Closed, with its cache, after the file's tests; resolves once the cache is on Redis.
   */
  start(options: ResilientCacheOptions, setup: (app: Express, cache: ResilientCache) => void, clock?: FakeClock): Promise<StartedApp>;
  /** Runs `close` after the file's tests, before the server stops. */
  onClose(close: () => Promise<void>): void;
}

export interface StartedApp {
  readonly app: RunningApp;
  readonly cache: ResilientCache;
  readonly prefix: string;
}

/** One redis-server for a test file, and the apps its tests start on it: every test file's setup, written once. */
export function redisApps(name: string): RedisApps {
  let server: RedisServer | undefined;
  const closers: Array<() => Promise<void>> = [];
  let made = 0;
  before(async () => {
    server = await startRedisServer();
  });
  after(async () => {
    for (const close of closers.reverse()) await close();
    await server?.stop();
  });
  const running = (): RedisServer => {
    if (!server) throw new Error('redisApps: the server starts in a before() hook; use it inside tests');
    return server;
  };
  return {
    get server() {
      return running();
    },
    onClose: (close) => void closers.push(close),
    async start(options, setup, clock) {
      const prefix = `${name}${++made}:`;
      const settings = { ...STEADY, redis: running().url, prefix, ...options };
      const cache = clock ? createCache(settings, clock) : resilientCache(settings);
      const web = express();
      setup(web, cache);
      const app = await listen(web);
      closers.push(async () => {
        await app.close();
        await cache.close();
      });
      await redisReady(cache, 5_000, clock);
      return { app, cache, prefix };
    },
  };
}
