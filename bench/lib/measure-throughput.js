// The measurement behind `hot`, `spread` and `miss`: optional fill pass, warm-up, then a timed run
// bracketed by CPU readings taken inside the target (and from /proc for redis-server).
import { runLoad } from './load.js';

/**
 * @param {ReturnType<typeof import('./target-process.js').startTargetProcess> extends Promise<infer T> ? T : never} target
 * @param {{ flags: { duration: number, warmup: number, connections: number }, redis: { cpuMicros(): number | undefined } }} ctx
 * @param {{ path: () => (string | (() => string)), fill?: { path: () => string, count: number } }} pattern
 */
export async function measureThroughput(target, ctx, pattern) {
  const { duration, warmup, connections } = ctx.flags;
  if (pattern.fill) {
    // Every URL once, so the measured run starts with all of them cached.
    await runLoad({ base: target.base, path: pattern.fill.path, amount: pattern.fill.count, connections, maxSeconds: 60 });
  }
  if (warmup > 0) await runLoad({ base: target.base, path: pattern.path(), duration: warmup, connections });
  const before = await target.cpu();
  const redisBefore = ctx.redis.cpuMicros();
  const selfBefore = process.cpuUsage();
  const load = await runLoad({ base: target.base, path: pattern.path(), duration, connections });
  const self = process.cpuUsage(selfBefore);
  const after = await target.cpu();
  const redisAfter = ctx.redis.cpuMicros();
  const served = after.requests - before.requests;
  const wallMicros = (after.now - before.now) * 1000;
  return {
    ...load,
    served,
    // Share of one core used by the target and by this (load-generating) process: tells whether the target
    // was saturated, or the rest of the shared machine was taking the CPU.
    targetCores: (after.cpuMicros - before.cpuMicros) / wallMicros,
    loadGenCores: (self.user + self.system) / wallMicros,
    cpuPerReq: (after.cpuMicros - before.cpuMicros) / served,
    redisCpuPerReq: redisBefore === undefined || redisAfter === undefined ? undefined : (redisAfter - redisBefore) / served,
    originRuns: after.originRuns - before.originRuns,
  };
}
