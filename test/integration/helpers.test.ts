import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../helpers/app.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { freePort } from '../helpers/free-port.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { encodeCommand, parseReply, type RespValue } from '../helpers/resp.js';

const TIMEOUT = Symbol('timeout');

/** Resolves with the promise's value, or TIMEOUT if it has not settled within `ms`. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMEOUT> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof TIMEOUT>((resolve) => (timer = setTimeout(() => resolve(TIMEOUT), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A deliberately tiny RESP client on one raw socket, so the helpers are tested without ioredis. */
class RawClient {
  readonly socket: Socket;
  /** Settles when the socket closes, with the error code that closed it (if any). */
  readonly closed: Promise<string | undefined>;
  #buffer = Buffer.alloc(0);
  #waiting: Array<(value: RespValue) => void> = [];

  private constructor(socket: Socket) {
    this.socket = socket;
    let code: string | undefined;
    socket.on('error', (err: NodeJS.ErrnoException) => (code = err.code));
    this.closed = new Promise((resolve) => socket.once('close', () => resolve(code)));
    socket.on('data', (chunk: Buffer) => this.#read(chunk));
  }

  static open(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RawClient(socket));
      });
    });
  }

  /** Sends a command; the reply promise never rejects, it just may never settle (that is what we test). */
  send(...args: string[]): Promise<RespValue> {
    return new Promise((resolve) => {
      this.#waiting.push(resolve);
      this.socket.write(encodeCommand(args));
    });
  }

  close(): void {
    this.socket.destroy();
  }

  #read(chunk: Buffer): void {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    for (let reply = parseReply(this.#buffer); reply !== undefined; reply = parseReply(this.#buffer)) {
      this.#buffer = this.#buffer.subarray(reply.end);
      this.#waiting.shift()?.(reply.value);
    }
  }
}

/** The error code a fresh connection attempt to `port` fails with, or 'connected'. */
async function connectOutcome(port: number): Promise<string> {
  try {
    const client = await RawClient.open(port);
    // The proxy may accept and reset at once; wait a moment to see.
    const code = await within(client.closed, 100);
    client.close();
    return code === TIMEOUT ? 'connected' : (code ?? 'closed');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? String(err);
  }
}

describe('startRedisServer', () => {
  it('starts a private server on its own port that answers PING', async () => {
    const redis = await startRedisServer();
    try {
      assert.equal(redis.host, '127.0.0.1');
      assert.notEqual(redis.port, 6379);
      assert.equal(redis.url, `redis://127.0.0.1:${redis.port}`);
      const client = await RawClient.open(redis.port);
      assert.equal(await client.send('PING'), 'PONG');
      client.close();
    } finally {
      await redis.stop();
    }
  });

  it('command() turns each reply type into text and rejects on error replies', async () => {
    const redis = await startRedisServer();
    try {
      assert.equal(await redis.command('SET', 'k', 'héllo'), 'OK');
      assert.equal(await redis.command('GET', 'k'), 'héllo');
      assert.equal(await redis.command('GET', 'missing'), '');
      assert.equal(await redis.command('INCR', 'n'), '1');
      assert.equal(await redis.command('DBSIZE'), '2');
      assert.equal(await redis.command('CONFIG', 'GET', 'appendonly'), 'appendonly\nno');
      assert.equal(await redis.command('CONFIG', 'GET', 'save'), 'save\n');
      await assert.rejects(redis.command('NO-SUCH-COMMAND'), /unknown command/i);
    } finally {
      await redis.stop();
    }
  });

  it('applies extra args after the defaults, and gives each server its own port and data', async () => {
    const [a, b] = await Promise.all([
      startRedisServer({ args: ['--maxmemory', '5mb'] }),
      startRedisServer(),
    ]);
    try {
      assert.notEqual(a.port, b.port);
      assert.equal(await a.command('CONFIG', 'GET', 'maxmemory'), 'maxmemory\n5242880');
      await a.command('SET', 'only-in-a', '1');
      assert.equal(await b.command('EXISTS', 'only-in-a'), '0');
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('reports redis output when the server cannot start', async () => {
    await assert.rejects(startRedisServer({ args: ['--no-such-directive', 'x'] }), (err: Error) => {
      assert.match(err.message, /redis-server output/);
      assert.match(err.message, /no-such-directive/);
      return true;
    });
  });

  it('kill() drops clients at once; restart() comes back on the same port, empty', async () => {
    const redis = await startRedisServer();
    try {
      await redis.command('SET', 'k', 'v');
      const client = await RawClient.open(redis.port);
      await redis.kill();
      assert.notEqual(await within(client.closed, 1000), TIMEOUT, 'client socket closes when redis dies');
      assert.equal(await connectOutcome(redis.port), 'ECONNREFUSED');
      await redis.kill(); // idempotent

      await redis.restart();
      assert.equal(await redis.command('PING'), 'PONG');
      assert.equal(await redis.command('DBSIZE'), '0', 'nothing persisted across the crash');
    } finally {
      await redis.stop();
    }
  });

  it('stop() shuts down cleanly, twice is fine, and restart() works after it', async () => {
    const redis = await startRedisServer();
    const port = redis.port;
    await redis.stop();
    await redis.stop();
    assert.equal(await connectOutcome(port), 'ECONNREFUSED');
    await redis.restart();
    assert.equal(redis.port, port);
    assert.equal(await redis.command('PING'), 'PONG');
    await redis.stop();
  });

  it('pause() freezes the server with sockets open; resume() lets it answer', async () => {
    const redis = await startRedisServer();
    try {
      const client = await RawClient.open(redis.port);
      redis.pause();
      const reply = client.send('PING');
      assert.equal(await within(reply, 300), TIMEOUT);
      assert.equal(client.socket.destroyed, false);
      redis.resume();
      assert.equal(await within(reply, 2000), 'PONG');
      client.close();

      redis.pause();
      await redis.stop(); // stopping a paused server must not hang
    } finally {
      await redis.stop();
    }
  });
});

describe('startFaultProxy', () => {
  let redis: RedisServer;
  let proxy: FaultProxy;

  before(async () => {
    redis = await startRedisServer();
    proxy = await startFaultProxy({ port: redis.port });
  });
  after(async () => {
    await proxy.close();
    await redis.stop();
  });

  it('forwards both ways and counts open connections', async () => {
    assert.equal(proxy.url, `redis://127.0.0.1:${proxy.port}`);
    const client = await RawClient.open(proxy.port);
    assert.equal(await client.send('SET', 'via-proxy', 'yes'), 'OK');
    assert.equal(await redis.command('GET', 'via-proxy'), 'yes');
    assert.equal(proxy.connections(), 1);
    client.close();
    await client.closed;
    await waitFor(() => proxy.connections() === 0, 'the proxy to hold no connections', 2000, 10);
  });

  it('adds latency in each direction and keeps order when latency changes', async () => {
    const client = await RawClient.open(proxy.port);
    try {
      proxy.setLatency(100);
      const started = performance.now();
      assert.equal(await client.send('PING'), 'PONG');
      assert.ok(performance.now() - started >= 195, 'request and reply are each delayed ~100 ms');

      const first = client.send('ECHO', 'first');
      await new Promise((resolve) => setTimeout(resolve, 20)); // let 'first' reach the proxy as its own chunk
      proxy.setLatency(0);
      const second = client.send('ECHO', 'second');
      const order: string[] = [];
      await Promise.all([first, second].map((p) => p.then((v) => order.push(String(v)))));
      assert.deepEqual(order, ['first', 'second']);
    } finally {
      proxy.setLatency(0);
      client.close();
    }
  });

  it('blackhole keeps sockets open but answers nothing, new connections included', async () => {
    const client = await RawClient.open(proxy.port);
    try {
      proxy.blackhole(true);
      assert.equal(await within(client.send('PING'), 300), TIMEOUT);
      assert.equal(client.socket.destroyed, false);
      const late = await RawClient.open(proxy.port); // still accepted
      assert.equal(await within(late.send('PING'), 300), TIMEOUT);
      late.close();

      proxy.blackhole(false);
      const fresh = await RawClient.open(proxy.port);
      assert.equal(await fresh.send('PING'), 'PONG');
      fresh.close();
    } finally {
      proxy.blackhole(false);
      client.close();
    }
  });

  it('reset() kills every client connection with a TCP reset', async () => {
    const clients = await Promise.all([RawClient.open(proxy.port), RawClient.open(proxy.port)]);
    await Promise.all(clients.map((c) => c.send('PING')));
    proxy.reset();
    for (const client of clients) {
      assert.equal(await within(client.closed, 1000), 'ECONNRESET');
    }
    await waitFor(() => proxy.connections() === 0, 'the proxy to hold no connections', 2000, 10);
    const fresh = await RawClient.open(proxy.port);
    assert.equal(await fresh.send('PING'), 'PONG');
    fresh.close();
  });

  it('refuse() resets open connections and refuses new ones until turned off', async () => {
    const client = await RawClient.open(proxy.port);
    await client.send('PING');
    proxy.refuse(true);
    assert.notEqual(await within(client.closed, 1000), TIMEOUT);
    assert.equal(await connectOutcome(proxy.port), 'ECONNREFUSED');

    proxy.refuse(false);
    await waitFor(async () => (await connectOutcome(proxy.port)) === 'connected', 'a connection through the proxy', 2000, 10);
    const fresh = await RawClient.open(proxy.port);
    assert.equal(await fresh.send('PING'), 'PONG');
    fresh.close();
  });

  it('resets the client when the upstream cannot be reached', async () => {
    const nowhere = await startFaultProxy({ port: await freePort() });
    try {
      const client = await RawClient.open(nowhere.port);
      assert.equal(await within(client.closed, 1000), 'ECONNRESET');
    } finally {
      await nowhere.close();
    }
  });
});
