// The measurement behind `hot`, `spread` and `miss`: optional fill pass, warm-up, then a timed run
// bracketed by CPU readings taken inside the target (and from /proc for redis-server) and by Redis's
// own count of the commands it ran.
import { runLoad } from './load.js';
import { commandDelta } from './redis-server.js';
import { nearCacheLive } from './target-ready.js';
import { usesRedis } from './targets.js';

/** Fill passes are misses behind a 20 ms origin: more connections than the measured run keep them short. */
const FILL_CONNECTIONS = 200;
/** How long the target is left without load to count its background Redis commands. */
const IDLE_WINDOW_MS = 2000;

/**
 * @param {ReturnType<typeof import('./target-process.js').startTargetProcess> extends Promise<infer T> ? T : never} target
 * @param {{ flags: { duration: number, warmup: number, connections: number }, profile?: boolean,
 *   redis: { cpuMicros(): number | undefined, commandCalls(): Promise<Record<string, number>> } }} ctx
 * @param {{ path: () => (string | (() => string)), fill?: { path: () => string, paths: () => () => string, count: number } }} pattern
 */
export async function measureThroughput(target, ctx, pattern) {
  const { duration, warmup, connections } = ctx.flags;
  await nearCacheLive(target);
  const filled = pattern.fill ? await fill(target, pattern.fill, connections) : undefined;
  if (warmup > 0) await runLoad({ base: target.base, path: pattern.path(), duration: warmup, connections });
  const idle = usesRedis(target.name) ? await idleCommandRate(ctx.redis) : 0;
  const commandsBefore = await ctx.redis.commandCalls();
  if (ctx.profile) await target.profile.start();
  const before = await target.cpu();
  const redisBefore = ctx.redis.cpuMicros();
  const selfBefore = process.cpuUsage();
  const load = await runLoad({ base: target.base, path: pattern.path(), duration, connections });
  const self = process.cpuUsage(selfBefore);
  const after = await target.cpu();
  const redisAfter = ctx.redis.cpuMicros();
  if (ctx.profile) await target.profile.stop();
  const commands = commandDelta(commandsBefore, await ctx.redis.commandCalls());
  const served = after.requests - before.requests;
  const wallMicros = (after.now - before.now) * 1000;
  const cpuPerReq = (after.cpuMicros - before.cpuMicros) / served;
  const redisCpuPerReq = redisBefore === undefined || redisAfter === undefined ? undefined : (redisAfter - redisBefore) / served;
  return {
    ...load,
    served,
    filled,
    // Share of one core used by the target and by this (load-generating) process: tells whether the target
    // was saturated, or the rest of the shared machine was taking the CPU.
    targetCores: (after.cpuMicros - before.cpuMicros) / wallMicros,
    loadGenCores: (self.user + self.system) / wallMicros,
    cpuPerReq,
    redisCpuPerReq,
    // What a request costs the machine: the app, plus redis-server for the targets that use it. redis-server is
    // idle (10 Hz housekeeping) for the others, so adding it there would only add noise.
    totalCpuPerReq: cpuPerReq + (usesRedis(target.name) && redisCpuPerReq !== undefined ? redisCpuPerReq : 0),
    redisCommands: commands.total,
    redisCommandsPerReq: commands.total / served,
    // Less what the target sends with no load at all (pings, the shared-counter flush): what requests cost Redis.
    idleCommandsPerSecond: idle,
    redisCommandsPerReqLessIdle: Math.max(0, commands.total - idle * (wallMicros / 1e6)) / served,
    redisCommandsByName: commands.byCommand,
    originRuns: after.originRuns - before.originRuns,
  };
}

/** Commands per second Redis runs while the target has no load: its background work. */
async function idleCommandRate(redis) {
  const before = await redis.commandCalls();
  await new Promise((resolve) => setTimeout(resolve, IDLE_WINDOW_MS));
  return commandDelta(before, await redis.commandCalls()).total / (IDLE_WINDOW_MS / 1000);
}

/**
 * Requests every URL once, so the measured run starts with all of them cached, and checks the target holds them
 * all where it reports a count: a cache that evicted part of the set would measure misses, not hits.
 */
async function fill(target, { path, count, paths: freshPaths }, connections) {
  const before = await target.cpu();
  const maxSeconds = Math.max(60, Math.ceil(count / 400));
  const load = await runLoad({
    base: target.base,
    path,
    amount: count,
    connections: Math.max(connections, FILL_CONNECTIONS),
    // Room for filling at 400 misses a second (ours-redis filled at under 900 a second on the busy 2-core machine,
    // apicache slows as its index grows and may not finish 100,000 at all); a minute at least.
    maxSeconds,
  });
  if (load.requests < count) throw new Error(`the fill pass got ${load.requests} of ${count} answers within ${maxSeconds} s`);
  const after = await target.cpu();
  let stats = await target.stats();
  if (stats.nearCache === 'live' && stats.entries < count) {
    // A near-cache may keep no copy of what it stored itself: on Redis 7.0 a write inside a script reaches its own
    // tracking despite NOLOOP, so the copy is made on the first read. One pass of hits makes them all.
    await runLoad({ base: target.base, path: freshPaths(), amount: count, connections, maxSeconds });
    stats = await target.stats();
  }
  const entries = typeof stats.entries === 'number' ? stats.entries : undefined;
  if (entries !== undefined && entries < count) {
    throw new Error(`holds ${entries} of the ${count} URLs after the fill pass: its memory bounds are too small for --urls ${count}`);
  }
  return { urls: count, originRuns: after.originRuns - before.originRuns, entries };
}
