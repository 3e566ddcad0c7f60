// Shared pieces of every target app: the body, the origin handlers and the /__bench endpoints.
// Kept identical across targets so the only thing that differs between two targets is the cache.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import express from 'express';
import { BODY_BUFFER } from './body.js';

export { BODY, BODY_BUFFER, JSON_TYPE } from './body.js';

/** Simulated backend latency of the uncached origin. */
export const ORIGIN_DELAY_MS = 20;
/** Handler latency in the stampede scenario: long enough for 200 requests to pile up. */
export const SLOW_DELAY_MS = 200;

/** Counters the orchestrator reads through /__bench/cpu; one object per process. */
export const counters = { requests: 0, originRuns: 0, slowRuns: 0 };

/**
 * A fresh copy of the body, as a real origin serialising its data would produce. Sending one shared string
 * would let a cache that keeps the string (route-cache) store a pointer instead of 1 KB, and look smaller.
 */
function freshBody() {
  return BODY_BUFFER.toString('utf8');
}

/** The uncached origin: what every cache sits in front of. Sends a string so every peer can capture it. */
export function origin(req, res) {
  counters.originRuns++;
  setTimeout(() => res.type('json').send(freshBody()), ORIGIN_DELAY_MS);
}

/** A slow handler for one cold URL; the count of its runs is the stampede result. */
export function slow(req, res) {
  counters.slowRuns++;
  setTimeout(() => res.type('json').send(freshBody()), SLOW_DELAY_MS);
}

/**
 * Mounts the measurement endpoints. Must be called before any cache middleware so they are never cached.
 * @param {import('express').Express} app
 * @param {() => object} stats target-specific stats (cache entries, Redis hits, the cache's own stats)
 */
export function mountBenchRoutes(app, stats) {
  app.get('/__bench/cpu', (req, res) => {
    const cpu = process.cpuUsage();
    res.json({ cpuMicros: cpu.user + cpu.system, ...counters, now: Date.now() });
  });
  app.get('/__bench/stats', (req, res) => res.json({ now: Date.now(), ...counters, ...stats() }));
  app.get('/__bench/heap', (req, res) => {
    // Several passes: one gc() can leave weakly-held and finalizable objects for the next cycle.
    for (let i = 0; i < 3; i++) globalThis.gc?.();
    const mem = process.memoryUsage();
    res.json({ heapUsed: mem.heapUsed, external: mem.external, arrayBuffers: mem.arrayBuffers, gc: Boolean(globalThis.gc) });
  });
  if (process.env.BENCH_CPU_PROF_FILE) mountProfiler(app, process.env.BENCH_CPU_PROF_FILE);
}

/**
 * `--cpu-prof` for one measured run: the orchestrator starts V8's profiler just before the run and stops it just
 * after, so the fill pass and warm-up (misses, JIT warm-up) stay out of a profile of the hit path.
 */
function mountProfiler(app, file) {
  let session;
  app.get('/__bench/profile/start', async (req, res) => {
    session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
    res.json({ started: true });
  });
  app.get('/__bench/profile/stop', async (req, res) => {
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    writeFileSync(file, JSON.stringify(profile));
    res.json({ file });
  });
}

/**
 * Builds the app, starts it on a free port on 127.0.0.1 and tells the parent over IPC.
 * `setup(app)` mounts the cache and routes and may return `{ stats, close }`.
 * @param {string} name
 * @param {(app: import('express').Express) => Promise<{ stats?: () => object, close?: () => Promise<unknown> } | void>} setup
 */
export async function startTarget(name, setup) {
  const app = express();
  let hooks = {};
  mountBenchRoutes(app, () => (hooks.stats ? hooks.stats() : {}));
  try {
    hooks = (await setup(app)) ?? {};
  } catch (err) {
    console.error(`[target ${name}] setup failed: ${err.message}`);
    process.exit(2);
  }
  const server = app.listen(0, '127.0.0.1', () => {
    process.send?.({ type: 'ready', name, port: server.address().port, pid: process.pid });
  });
  server.on('request', (req) => {
    if (!req.url.startsWith('/__bench')) counters.requests++;
  });
  const shutdown = () => stop(server, hooks);
  process.on('message', (msg) => msg?.type === 'stop' && shutdown());
  // The parent died or closed the channel: never outlive it.
  process.on('disconnect', shutdown);
  process.on('SIGTERM', shutdown);
}

async function stop(server, hooks) {
  server.closeAllConnections?.();
  server.close();
  const timer = setTimeout(() => process.exit(0), 1000);
  try {
    await hooks.close?.();
  } catch {
    // closing a client of a frozen or dead Redis may reject; we exit anyway
  }
  clearTimeout(timer);
  // process.exit (not a signal) so that --cpu-prof gets to write its profile
  process.exit(0);
}
