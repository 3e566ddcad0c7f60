import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { createRedisClient } from '../../src/stores/redis-client.js';

// The client the package creates from Sentinel options: its questions to a Sentinel are bounded (a frozen Sentinel
// would otherwise hold the reconnect forever), and a bound the user chose for their own Sentinels wins. Nothing here
// connects: the Sentinel addresses are never dialled before the clients are disconnected.

const sentinels = [{ host: '127.0.0.1', port: 1 }];

function sentinelTimeoutOf(options: Record<string, unknown>): unknown {
  const { client } = createRedisClient({ sentinels, name: 'mymaster', lazyConnect: true, ...options }, 50);
  (client as Redis).disconnect();
  return (client as Redis).options.sentinelCommandTimeout;
}

describe('a client created from Sentinel options', () => {
  it('bounds each question to a Sentinel: ten times redisTimeout, at least 500 ms', () => {
    assert.equal(sentinelTimeoutOf({}), 500);
  });

  it("keeps the user's own sentinelCommandTimeout", () => {
    assert.equal(sentinelTimeoutOf({ sentinelCommandTimeout: 1234 }), 1234);
  });
});
