import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { systemClock } from '../../src/clock.js';
import { encodeEntry } from '../../src/entry/codec.js';
import type { Entry, ResponseEntry, ValueEntry, VaryEntry } from '../../src/entry/entry.js';
import { KeySpace } from '../../src/stores/key-space.js';
import { MemoryStore } from '../../src/stores/memory-store.js';
import { RedisStore } from '../../src/stores/redis-store.js';
import { TieredStore } from '../../src/stores/tiered-store.js';
import { waitFor } from '../helpers/app.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

// One suite of what every store must do, run against the memory store, the Redis store and the tiered store (memory
// Only, and in front of Redis): get, set and delete, TTLs, tags, sizes, and bytes that are not an entry.

/** A store as the suite drives it, whatever its own method names. */
interface StoreUnderTest {
  get(key: string): Promise<Entry | undefined>;
  set(key: string, entry: Entry, ttlMs: number, tagKeys?: readonly string[]): Promise<void>;
  /** Resolves to how many of the keys held an entry. */
  delete(keys: readonly string[]): Promise<number>;
  deleteTagged(tagKeys: readonly string[]): Promise<number>;
  /** Lets `ms` pass for the store's TTLs: a fake clock moved on, or real time for Redis. */
  elapse(ms: number): Promise<void>;
  /** For stores that hold bytes: puts raw bytes where an entry would be. */
  writeBytes?(key: string, bytes: Buffer): Promise<void>;
  close(): Promise<void>;
}

let server: RedisServer;
let client: Redis;
before(async () => {
  server = await startRedisServer();
  client = new Redis(server.url, { maxRetriesPerRequest: 0 });
});
after(async () => {
  client?.disconnect();
  await server?.stop();
});

const keys = new KeySpace('stores:');
let prefixCount = 0;
/** A key space of its own for each test, so tests never see each other's entries in the shared server. */
function fresh(): KeySpace {
  return new KeySpace(`stores${++prefixCount}:`);
}

const memory = { maxEntries: 1000, maxBytes: 16 * 1024 * 1024 };
/** The tiered store's settings; its near-cache is tested through the cache (near-cache.test.ts). */
const tiering = {
  redisTimeoutMs: 1000, failureThreshold: 5, openForMs: 1000, nearCache: false, serveDuringOutage: false, instance: 'stores-test',
  tracked: { prefixes: ['stores'], channel: 'stores:invalidations' }, tagKeysOf: () => [], writeProbeKey: 'stores:write-probe',
};

const subjects: Record<string, () => Promise<StoreUnderTest>> = {
  async MemoryStore() {
    const clock = new FakeClock();
    const store = new MemoryStore({ ...memory, clock });
    return {
      get: async (key) => store.peek(key),
      set: async (key, entry, ttlMs, tagKeys = []) => store.put(key, entry, ttlMs, tagKeys),
      delete: async (list) => store.delete(list).length,
      deleteTagged: async (tagKeys) => store.deleteTagged(tagKeys).length,
      elapse: (ms) => clock.advance(ms),
      close: async () => undefined,
    };
  },
  async RedisStore() {
    const store = new RedisStore({ client, owned: false }, { writeTimeoutMs: 2000 });
    return {
      get: (key) => store.get(key),
      set: (key, entry, ttlMs, tagKeys = []) => store.set(key, entry, ttlMs, tagKeys),
      delete: (list) => store.delete(list),
      deleteTagged: async (tagKeys) => (await store.deleteTagged(tagKeys)).removed,
      elapse: (ms) => sleep(ms),
      writeBytes: async (key, bytes) => void (await client.set(key, bytes)),
      close: () => store.close(),
    };
  },
  async 'TieredStore, memory only'() {
    const clock = new FakeClock();
    return tiered(new TieredStore({ memory: new MemoryStore({ ...memory, clock }), redis: undefined, clock, ...tiering }), (ms) => clock.advance(ms));
  },
  async 'TieredStore with Redis'() {
    const store = new TieredStore({ memory: new MemoryStore({ ...memory, clock: systemClock }),
      redis: new RedisStore({ client, owned: false }, { writeTimeoutMs: 2000 }), clock: systemClock, ...tiering });
    await waitFor(() => store.state === 'redis', 'the tiered store to use Redis');
    return { ...tiered(store, (ms) => sleep(ms)), writeBytes: async (key, bytes) => void (await client.set(key, bytes)) };
  },
};

function tiered(store: TieredStore, elapse: (ms: number) => Promise<void>): StoreUnderTest {
  const nameKey = keys.name('suite');
  return {
    get: async (key) => (await store.lookup(key)).entry,
    set: async (key, entry, ttlMs, tagKeys = []) => {
      assert.notEqual(await store.set(key, entry, ttlMs, { tagKeys, nameKey }), undefined, 'the store took the entry');
    },
    delete: (list) => store.invalidate({ keys: list, tagKeys: [], names: [], nameKeys: [] }),
    deleteTagged: (tagKeys) => store.invalidate({ keys: [], tagKeys, names: [], nameKeys: [] }),
    elapse,
    close: () => store.close(),
  };
}

/** Entry moments: the stores keep them as given (their own TTL is what `set` is told). */
const NOW = Date.UTC(2026, 0, 1);
const times = () => ({ createdAt: NOW, freshUntil: NOW + 60_000, staleWhileRevalidateUntil: NOW + 60_000, staleIfErrorUntil: NOW + 60_000, keepUntil: NOW + 60_000 });

function response(body: Buffer, status = 200): ResponseEntry {
  return {
    kind: 'response', ...times(), status, body, etag: '"e"', name: '/items/:id', tags: ['items'],
    unset: [], headers: ['Content-Type', 'application/octet-stream', 'Link', '</a>; rel=preload', 'Link', '</b>; rel=preload'],
  };
}
const vary: VaryEntry = { kind: 'vary', ...times(), fields: ['accept-language'] };
const value: ValueEntry = { kind: 'value', ...times(), format: 'json', body: Buffer.from('{"a":1}'), name: 'getOrSet', tags: [] };

/** Entries compared field by field, bodies by their bytes. */
function assertSameEntry(actual: Entry | undefined, expected: Entry): void {
  assert.ok(actual, 'an entry came back');
  const bytes = (entry: Entry) => ('body' in entry ? { body: entry.body.toString('base64') } : {});
  assert.deepEqual({ ...actual, ...bytes(actual) }, { ...expected, ...bytes(expected) });
}

/** The stores whose entries live as bytes (in Redis): only they can meet bytes that are not an entry. */
const subjectsHoldingBytes = new Set(['RedisStore', 'TieredStore with Redis']);

for (const [name, make] of Object.entries(subjects)) {
  describe(name, () => {
    let store: StoreUnderTest;
    let space: KeySpace;
    before(async () => {
      store = await make();
    });
    after(async () => {
      await store?.close();
    });
    const key = (id: string) => space.response(id);

    it('gives back what was set, for every kind of entry, and nothing for a key never set', async () => {
      space = fresh();
      const entries: Entry[] = [response(Buffer.from('hello')), vary, value];
      for (const [i, entry] of entries.entries()) await store.set(key(`k${i}`), entry, 60_000);
      for (const [i, entry] of entries.entries()) assertSameEntry(await store.get(key(`k${i}`)), entry);
      assert.equal(await store.get(key('never')), undefined);
    });

    it('a second set replaces the first', async () => {
      space = fresh();
      await store.set(key('k'), response(Buffer.from('v1')), 60_000);
      await store.set(key('k'), response(Buffer.from('v2'), 203), 60_000);
      assertSameEntry(await store.get(key('k')), response(Buffer.from('v2'), 203));
    });

    it('delete removes the entries and counts those it found', async () => {
      space = fresh();
      await store.set(key('a'), value, 60_000);
      await store.set(key('b'), value, 60_000);
      assert.equal(await store.delete([key('a'), key('absent')]), 1);
      assert.equal(await store.get(key('a')), undefined);
      assertSameEntry(await store.get(key('b')), value);
      assert.equal(await store.delete([key('a')]), 0);
    });

    it('an entry lives for its TTL, and a TTL of 0 stores nothing', async () => {
      space = fresh();
      await store.set(key('short'), value, 300);
      await store.set(key('zero'), value, 0);
      await store.elapse(100);
      assertSameEntry(await store.get(key('short')), value);
      assert.equal(await store.get(key('zero')), undefined);
      await store.elapse(400);
      assert.equal(await store.get(key('short')), undefined);
    });

    it('deleteTagged removes every entry carrying a tag, and only those', async () => {
      space = fresh();
      const red = space.tag('red');
      const blue = space.tag('blue');
      await store.set(key('r1'), value, 60_000, [red]);
      await store.set(key('r2'), value, 60_000, [red, blue]);
      await store.set(key('b1'), value, 60_000, [blue]);
      await store.set(key('plain'), value, 60_000);
      assert.equal(await store.deleteTagged([red]), 2);
      assert.equal(await store.get(key('r1')), undefined);
      assert.equal(await store.get(key('r2')), undefined);
      assertSameEntry(await store.get(key('b1')), value);
      assertSameEntry(await store.get(key('plain')), value);
      assert.equal(await store.deleteTagged([red]), 0, 'the tag is gone with its entries');
    });

    it('bodies of every size and byte come back intact: empty, every byte value, 1 MiB', async () => {
      space = fresh();
      const bodies = [Buffer.alloc(0), Buffer.from(Array.from({ length: 256 }, (_, i) => i)), Buffer.alloc(1024 * 1024, 0xa5)];
      for (const [i, body] of bodies.entries()) await store.set(key(`s${i}`), response(body), 60_000);
      for (const [i, body] of bodies.entries()) assertSameEntry(await store.get(key(`s${i}`)), response(body));
    });

    if (subjectsHoldingBytes.has(name)) {
      it('bytes that are not an entry read as a miss, never an error', async () => {
        space = fresh();
        const good = encodeEntry(response(Buffer.from('body')));
        const wrongVersion = Buffer.from(good);
        wrongVersion[2] = 99;
        const corrupt = [Buffer.from('not an entry'), good.subarray(0, good.length - 3), wrongVersion, Buffer.concat([good, Buffer.from('x')])];
        for (const [i, bytes] of corrupt.entries()) {
          await store.writeBytes?.(key(`c${i}`), bytes);
          assert.equal(await store.get(key(`c${i}`)), undefined, `corrupt form ${i}`);
        }
      });
    }
  });
}
