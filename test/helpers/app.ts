import { once } from 'node:events';
import { request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Express } from 'express';
import type { ResilientCache } from '../../src/index.js';
import type { FakeClock } from './fake-clock.js';
import type { RedisServer } from './redis-server.js';

/**
 * Options for tests of what is cached rather than of deadlines. On a loaded test machine a Redis call can take longer
 * than the 50 ms default `redisTimeout`; the cache then (rightly) serves from memory, which reads as a surprise MISS.
 */
export const STEADY = Object.freeze({ redisTimeout: '1s' });

/** An Express app listening on a free 127.0.0.1 port. */
export interface RunningApp {
  /** `http://127.0.0.1:PORT` */
  readonly base: string;
  readonly port: number;
  /** Drops open connections and stops listening. */
  close(): Promise<void>;
}

/**
 * Listens on a free 127.0.0.1 port and resolves once the app accepts connections: the one way tests start an app.
 * Idle keep-alive sockets stay open for a minute, so load that spans phases is never cut off under it.
 */
export async function listen(app: Express): Promise<RunningApp> {
  const server: Server = app.listen(0, '127.0.0.1');
  server.keepAliveTimeout = 60_000;
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    port,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A response read byte for byte, with the header lines as they came over the wire. */
export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** `[name, value, name, value, …]` exactly as received, repeated names kept. */
  readonly rawHeaders: readonly string[];
  readonly body: Buffer;
  /** Milliseconds from sending the request to the end of the body. */
  readonly ms: number;
}

/** Options of {@link request}. */
export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  /** A request body: sent with `Content-Length`, or chunked with `chunked: true`. */
  body?: string | Buffer;
  chunked?: boolean;
}

/**
 * One request over a fresh connection with `node:http` (no keep-alive, so no agent state leaks between requests):
 * what `fetch` hides (HEAD framing, repeated header lines, exact bytes) stays visible.
 */
export function request(base: string, path: string, options: RequestOptions = {}): Promise<RawResponse> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        rawHeaders: res.rawHeaders,
        body: Buffer.concat(chunks),
        ms: performance.now() - started,
      }));
    });
    req.on('error', reject);
    if (options.body === undefined) return void req.end();
    if (options.chunked) req.setHeader('Transfer-Encoding', 'chunked');
    else req.setHeader('Content-Length', Buffer.byteLength(options.body));
    req.end(options.body);
  });
}

/** Every value a response carried for `name` (case-insensitive), one per header line, in order. */
export function headerLines(res: RawResponse, name: string): string[] {
  const lower = name.toLowerCase();
  const values: string[] = [];
  for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
    if ((res.rawHeaders[i] as string).toLowerCase() === lower) values.push(res.rawHeaders[i + 1] as string);
  }
  return values;
}

/** The `X-Cache` label of a response, or undefined without one. */
export function xCache(res: RawResponse): string | undefined {
  const value = res.headers['x-cache'];
  return Array.isArray(value) ? value.join(',') : value;
}

/** Polls `check` every `intervalMs` until it is true; fails with `what` after `timeoutMs`. */
export async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000, intervalMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/**
 * Waits until the cache has connected and serves from Redis (it starts on memory while its client connects). A cache
 * on a fake clock probes Redis from a timer on that clock: pass the clock, and timers due now are run as it waits.
 */
export function redisReady(cache: ResilientCache, timeoutMs = 5_000, clock?: FakeClock): Promise<void> {
  return waitFor(async () => {
    await clock?.advance(0);
    return cache.tier === 'redis';
  }, 'the cache to serve from Redis', timeoutMs);
}

/** Resolves on the cache's next `event`; rejects after `timeoutMs`. Register before causing the event. */
export function nextEvent(cache: ResilientCache, event: 'degraded' | 'recovered', timeoutMs = 5_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${event}' event within ${timeoutMs} ms`)), timeoutMs);
    const listener = () => {
      clearTimeout(timer);
      resolve();
    };
    if (event === 'degraded') cache.once('degraded', listener);
    else cache.once('recovered', listener);
  });
}

/** Key names in the server matching a glob (`KEYS` is fine on a private test server). */
export async function redisKeys(server: RedisServer, pattern = '*'): Promise<string[]> {
  const reply = await server.command('KEYS', pattern);
  return reply === '' ? [] : reply.split('\n');
}

/** Waits until `count` keys match `pattern`: the cache stores after the response went out, so a test waits for it. */
export async function storedKeys(server: RedisServer, pattern: string, count = 1): Promise<string[]> {
  let keys: string[] = [];
  await waitFor(async () => (keys = await redisKeys(server, pattern)).length >= count, `${count} Redis key(s) matching ${pattern}`);
  return keys;
}

/** Counts how many times each handler ran. */
export class Calls {
  readonly #counts = new Map<string, number>();
  /** Records one call of `name`; returns how many there have been. */
  add(name: string): number {
    const n = (this.#counts.get(name) ?? 0) + 1;
    this.#counts.set(name, n);
    return n;
  }
  of(name: string): number {
    return this.#counts.get(name) ?? 0;
  }
}
