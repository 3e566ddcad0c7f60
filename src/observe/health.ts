import { performance } from 'node:perf_hooks';
import type { CacheCore } from '../core.js';
import type { RedisStore } from '../stores/redis-store.js';
import { refusalReason } from '../stores/tiered-store.js';
import { describeError } from './debug.js';

export type HealthStatus = 'pass' | 'warn' | 'fail';

/** One check, in the shape of the `application/health+json` draft. */
export interface HealthCheck {
  readonly componentType: 'datastore' | 'component';
  readonly status: HealthStatus;
  readonly time: string;
  readonly observedValue?: number | string;
  readonly observedUnit?: string;
  readonly output?: string;
}

/** The health report: `application/health+json`. */
export interface HealthReport {
  readonly status: HealthStatus;
  readonly description: string;
  /** Which tier serves now: `redis`, `memory` (Redis configured but out) or `memory-only`. */
  readonly tier: 'redis' | 'memory' | 'memory-only';
  readonly checks: Record<string, HealthCheck[]>;
  readonly output?: string;
}

/** Upper bound of the Redis part of a health check, so a black-holed Redis cannot hang a probe. */
export const HEALTH_REDIS_BUDGET_MS = 1000;

/**
 * Checks the tiers. `pass`: all well. `warn`: Redis is configured but out and the cache serves from memory, or Redis
 * serves reads but refuses writes (OOM, READONLY) and new entries stay in memory (the app is fine either way). `fail`:
 * the cache cannot serve at all (it was closed). Never waits on Redis longer than HEALTH_REDIS_BUDGET_MS.
 */
export async function checkHealth(core: CacheCore): Promise<HealthReport> {
  const time = new Date(core.clock.now()).toISOString();
  const { memory } = core.store;
  const checks: Record<string, HealthCheck[]> = {
    'memory:entries': [{ componentType: 'component', status: core.closed ? 'fail' : 'pass', time, observedValue: memory.size, observedUnit: 'entries' }],
    'memory:bytes': [{ componentType: 'component', status: core.closed ? 'fail' : 'pass', time, observedValue: memory.bytes, observedUnit: 'bytes' }],
  };
  const tier = core.store.state;
  if (core.closed) return { status: 'fail', description: 'express-resilient-cache', tier, checks, output: 'cache is closed' };
  const circuit = core.store.circuit;
  if (!circuit) return { status: 'pass', description: 'express-resilient-cache', tier, checks };
  checks['redis:circuit'] = [{
    componentType: 'component', status: circuit.state === 'closed' ? 'pass' : 'warn', time,
    observedValue: circuit.state, output: `since ${new Date(circuit.since).toISOString()}`,
  }];
  const probe = await checkRedis(core, time);
  Object.assign(checks, probe.checks);
  const refusals = core.store.refusals;
  // The probe's own write counts too: a cache just pointed at a replica has had no response refused yet.
  const refused = refusals.failing ? refusals.reason ?? 'READONLY' : probe.refused;
  checks['redis:writes'] = [refused
    ? { componentType: 'datastore', status: 'warn', time, observedValue: refusals.count, observedUnit: 'refused writes', output: REFUSED[refused] }
    : { componentType: 'datastore', status: 'pass', time, observedValue: refusals.count, observedUnit: 'refused writes' }];
  const redisOk = Object.entries(checks).every(([, list]) => list.every((c) => c.status === 'pass'));
  return { status: redisOk ? 'pass' : 'warn', description: 'express-resilient-cache', tier, checks, ...(redisOk ? {} : { output: summary(core, refused) }) };
}

/** What a refused write means, and what fixes it. */
const REFUSED = {
  OOM: 'Redis is full and evicts nothing (maxmemory with the noeviction policy): new responses are kept in this instance\'s memory only. Fix: raise maxmemory, or set maxmemory-policy to allkeys-lru.',
  READONLY: 'Redis is a read-only replica: new responses are kept in this instance\'s memory only, and invalidations are applied here and announced to other instances. Fix: point the cache at the primary (its address, or Sentinel options).',
} as const;

/** One sentence on what is wrong, in words that match the tier serving now. */
function summary(core: CacheCore, refused: 'OOM' | 'READONLY' | undefined): string {
  if (core.store.state !== 'redis') return 'Redis is unavailable; serving from the memory tier';
  if (refused) return `Serving from Redis, but it refuses writes: ${REFUSED[refused]}`;
  return 'Serving from Redis, but the health probe did not pass (see checks)';
}

/** What the Redis probe found: its checks, and why Redis refused its write if it did. */
interface RedisProbe {
  readonly checks: Record<string, HealthCheck[]>;
  readonly refused: 'OOM' | 'READONLY' | undefined;
}

/** PING, then a write, read and delete of a probe key: asked of Redis even while the circuit is open. */
async function checkRedis(core: CacheCore, time: string): Promise<RedisProbe> {
  const probeKey = core.keys.healthProbe(core.instance.id);
  const started = performance.now();
  const ask = <T>(operation: string, command: (redis: RedisStore) => Promise<T>, timeoutMs: number) =>
    core.store.redisCommand(operation, command, { timeoutMs, requestPath: false, whenOpen: true });
  let pingMs: number | undefined;
  try {
    await ask('PING', (redis) => redis.ping(), HEALTH_REDIS_BUDGET_MS / 2);
    pingMs = Math.round((performance.now() - started) * 100) / 100;
    const remaining = Math.max(50, HEALTH_REDIS_BUDGET_MS - (performance.now() - started));
    const token = `${core.clock.now()}`;
    const readBack = await ask('health read/write', (redis) => redis.writeReadDelete(probeKey, token), remaining);
    if (readBack !== token) throw new Error('read back a different value than written');
    return {
      checks: {
        'redis:responseTime': [{ componentType: 'datastore', status: 'pass', time, observedValue: pingMs, observedUnit: 'ms' }],
        'redis:readWrite': [{ componentType: 'datastore', status: 'pass', time, observedValue: 'ok' }],
      },
      refused: undefined,
    };
  } catch (error) {
    const output = describeError(error);
    return {
      checks: {
        'redis:responseTime': [pingMs === undefined
          ? { componentType: 'datastore', status: 'warn', time, output }
          : { componentType: 'datastore', status: 'pass', time, observedValue: pingMs, observedUnit: 'ms' }],
        'redis:readWrite': [{ componentType: 'datastore', status: 'warn', time, output }],
      },
      refused: refusalReason(error),
    };
  }
}
