import { after, afterEach, before, beforeEach } from 'node:test';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';
import { startRedisServer, type RedisServer } from './redis-server.js';

/** A test file's private redis-server and the fault proxy in front of it, valid from the file's `before` on. */
export interface RedisBehindProxy {
  readonly redis: RedisServer;
  readonly proxy: FaultProxy;
}

/**
 * Registers the hooks every fault-injection file needs: start redis-server and the proxy once, empty Redis before
 * each test, put the network and the server back to normal after each (so a failed test cannot leave the next one
 * frozen or black-holed), and stop both at the end.
 */
export function useRedisBehindProxy(): RedisBehindProxy {
  let redis: RedisServer | undefined;
  let proxy: FaultProxy | undefined;
  before(async () => {
    redis = await startRedisServer();
    proxy = await startFaultProxy({ port: redis.port });
  });
  beforeEach(async () => {
    await redis?.command('FLUSHALL');
  });
  afterEach(() => {
    proxy?.setLatency(0);
    proxy?.blackhole(false);
    proxy?.refuse(false);
    redis?.resume();
  });
  after(async () => {
    await proxy?.close();
    await redis?.stop();
  });
  return {
    get redis() {
      if (!redis) throw new Error('redis-server is not started yet: use it from a test or a later hook');
      return redis;
    },
    get proxy() {
      if (!proxy) throw new Error('the fault proxy is not started yet: use it from a test or a later hook');
      return proxy;
    },
  };
}
