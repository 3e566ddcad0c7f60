import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { resilientCache } from '../../src/index.js';
import { redisReady, waitFor } from '../helpers/app.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

// close(): quits what the cache opened, and nothing it was given.

let server: RedisServer;

before(async () => {
  server = await startRedisServer();
});

after(async () => {
  await server?.stop();
});

/** Connection names the server sees right now. */
async function clientNames(): Promise<string[]> {
  const list = await server.command('CLIENT', 'LIST');
  return [...list.matchAll(/ name=(\S*)/g)].map((m) => m[1] as string);
}

describe('close()', () => {
  it('quits the connection the cache created', async () => {
    const cache = resilientCache({ redis: { host: server.host, port: server.port, connectionName: 'erc-owned' } });
    await redisReady(cache);
    assert.ok((await clientNames()).includes('erc-owned'));
    await cache.close();
    await waitFor(async () => !(await clientNames()).includes('erc-owned'), 'the connection to be gone');
  });

  it('leaves a client passed in by the user open and working', async () => {
    const client = new Redis(server.url, { connectionName: 'erc-user' });
    try {
      const cache = resilientCache({ redis: client, prefix: 'user-client:' });
      await redisReady(cache);
      assert.equal(await cache.getOrSet('k', () => 'v'), 'v');
      await cache.close();
      assert.equal(client.status, 'ready');
      assert.equal(await client.ping(), 'PONG');
      await client.set('still-mine', '1');
      assert.equal(await client.get('still-mine'), '1');
      assert.ok((await clientNames()).includes('erc-user'));
    } finally {
      await client.quit();
    }
  });
});
