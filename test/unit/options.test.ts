import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { CacheConfigError, resilientCache, type ResilientCacheOptions } from '../../src/index.js';
import { parseDuration, type Duration } from '../../src/config/duration.js';
import type { ResolvedOptions } from '../../src/config/options.js';
import { resolveOptions } from '../../src/config/resolve-options.js';
import { freePort } from '../helpers/free-port.js';

/** Asserts that building a cache with `options` throws a CacheConfigError naming `option` and matching `fix`. */
function rejects(options: unknown, option: string, fix?: RegExp): CacheConfigError {
  let caught: unknown;
  try {
    const cache = resilientCache(options as ResilientCacheOptions);
    // Built after all: close it so the test does not leak timers, then fail.
    void cache.close();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof CacheConfigError, `expected CacheConfigError for ${JSON.stringify(options)}, got ${String(caught)}`);
  assert.ok(caught instanceof TypeError, 'CacheConfigError is a TypeError');
  assert.equal(caught.name, 'CacheConfigError');
  assert.equal(caught.code, 'ERR_CACHE_CONFIG');
  assert.equal(caught.option, option);
  assert.match(caught.message, new RegExp(`\`${option.replace(/\./g, '\\.')}\``), 'message names the option');
  if (fix) assert.match(caught.message, fix);
  return caught;
}

/** Builds a cache with `options` (it must build), then hands `use` what they resolve to: the values requests read. */
async function withResolved(options: ResilientCacheOptions, use: (resolved: ResolvedOptions, cache: ReturnType<typeof resilientCache>) => void): Promise<void> {
  await withCache(options, (cache) => use(resolveOptions(options), cache));
}

/** Builds a memory-only cache (or one with the given options), runs `use`, always closes it. */
async function withCache(options: ResilientCacheOptions, use?: (cache: ReturnType<typeof resilientCache>) => void | Promise<void>): Promise<void> {
  const cache = resilientCache(options);
  try {
    await use?.(cache);
  } finally {
    await cache.close();
  }
}

describe('resilientCache() options', () => {
  it('accepts no options at all and applies the documented defaults', async () => {
    const cache = resilientCache();
    try {
      const options = resolveOptions(undefined);
      assert.equal(options.prefix, 'rc:');
      assert.equal(options.maxEntries, 10_000);
      assert.equal(options.maxBytes, 64 * 1024 * 1024);
      assert.equal(options.maxBodyBytes, 1024 * 1024);
      assert.equal(options.redisTimeoutMs, 50);
      assert.equal(options.policy.ttlMs, 60_000);
      assert.deepEqual([...options.policy.statuses], [200]);
      assert.equal(options.lock, undefined);
      assert.equal(cache.tier, 'memory-only');
    } finally {
      await cache.close();
    }
  });

  it('rejects options that are not an object', () => {
    rejects('60s', 'options', /must be an object/);
    rejects([], 'options', /not an array/);
    rejects(42, 'options', /must be an object/);
  });

  it('suggests the near name for a misspelt option', () => {
    const top = rejects({ tll: '1s' }, 'tll', /did you mean `ttl`\?/);
    assert.match(top.message, /is not an option/);
    rejects({ memory: { maxEntrys: 10 } }, 'memory.maxEntrys', /did you mean `maxEntries`\?/);
    rejects({ redisTimout: '50ms' }, 'redisTimout', /did you mean `redisTimeout`\?/);
    rejects({ breaker: { failureTreshold: 3 } }, 'breaker.failureTreshold', /did you mean `failureThreshold`\?/);
    rejects({ stats: { flushIntervall: '1s' } }, 'stats.flushIntervall', /did you mean `flushInterval`\?/);
    rejects({ lock: { wiat: '1s' } }, 'lock.wiat', /did you mean `wait`\?/);
  });

  it('lists the known options when nothing is close', () => {
    const error = rejects({ somethingElseEntirely: 1 }, 'somethingElseEntirely', /Known options: .*ttl/);
    assert.doesNotMatch(error.message, /did you mean/);
  });

  describe('durations', () => {
    const good: Array<[unknown, number]> = [
      ['500ms', 500], ['30s', 30_000], ['5m', 300_000], ['1h', 3_600_000], ['1d', 86_400_000],
      [0, 0], [1, 1000], [1.5, 1500], ['0.5s', 500], [' 2s ', 2000],
    ];
    for (const [input, ms] of good) {
      it(`ttl ${JSON.stringify(input)} is ${ms} ms`, async () => {
        await withResolved({ ttl: input as Duration }, (options) => assert.equal(options.policy.ttlMs, ms));
      });
    }

    it('numbers are seconds', () => {
      assert.equal(parseDuration(60, 'ttl'), 60_000);
    });

    it('null means the default, as for every option', async () => {
      await withResolved({ ttl: null as unknown as Duration, redis: null as unknown as undefined, lock: null as unknown as boolean }, (options, cache) => {
        assert.equal(options.policy.ttlMs, 60_000);
        assert.equal(cache.tier, 'memory-only');
      });
    });

    const bad: unknown[] = [-1, '-1s', NaN, Infinity, -Infinity, 'soon', '10', '10 minutes', '1w', '', 'ms', true, {}, [], '1e3s'];
    for (const input of bad) {
      it(`ttl ${String(JSON.stringify(input) ?? input)} is rejected with the accepted forms`, () => {
        rejects({ ttl: input }, 'ttl', /seconds as a number|duration|zero or more/);
      });
    }

    it('the message for a garbage string says which forms work', () => {
      rejects({ ttl: 'soon' }, 'ttl', /'500ms', '30s', '5m', '1h' or '1d'/);
    });

    it('every duration option is checked under its own name', () => {
      rejects({ staleWhileRevalidate: 'x' }, 'staleWhileRevalidate');
      rejects({ staleIfError: -5 }, 'staleIfError');
      rejects({ redisTimeout: 'forever' }, 'redisTimeout');
      rejects({ breaker: { openFor: Infinity } }, 'breaker.openFor');
      rejects({ lock: { ttl: 'x' } }, 'lock.ttl');
      rejects({ lock: { wait: -1 } }, 'lock.wait');
      rejects({ stats: { flushInterval: 'x' } }, 'stats.flushInterval');
      rejects({ stats: { window: NaN } }, 'stats.window');
    });

    it('deadlines and periods that must pass time reject zero', () => {
      rejects({ redisTimeout: 0 }, 'redisTimeout', /greater than zero/);
      rejects({ breaker: { openFor: '0s' } }, 'breaker.openFor', /greater than zero/);
      rejects({ lock: { ttl: 0 } }, 'lock.ttl', /greater than zero/);
      rejects({ stats: { flushInterval: 0 } }, 'stats.flushInterval', /greater than zero/);
    });
  });

  describe('counts', () => {
    const cases: Array<[string, (v: unknown) => unknown]> = [
      ['memory.maxEntries', (v) => ({ memory: { maxEntries: v } })],
      ['memory.maxBytes', (v) => ({ memory: { maxBytes: v } })],
      ['maxBodyBytes', (v) => ({ maxBodyBytes: v })],
      ['breaker.failureThreshold', (v) => ({ breaker: { failureThreshold: v } })],
    ];
    for (const [option, build] of cases) {
      it(`${option} must be a whole number of 1 or more`, () => {
        for (const bad of [0, -1, 1.5, NaN, Infinity, '10', true, 2 ** 60]) {
          rejects(build(bad), option, /whole number of 1 or more/);
        }
      });
    }

    it('accepts sensible counts', async () => {
      await withResolved({ memory: { maxEntries: 5, maxBytes: 4096 }, maxBodyBytes: 100, breaker: { failureThreshold: 2 } }, (options) => {
        assert.equal(options.maxEntries, 5);
        assert.equal(options.maxBytes, 4096);
        assert.equal(options.maxBodyBytes, 100);
        assert.equal(options.failureThreshold, 2);
      });
    });
  });

  it('nested groups must be objects', () => {
    rejects({ memory: 100 }, 'memory', /must be an object/);
    rejects({ breaker: 'fast' }, 'breaker', /must be an object/);
    rejects({ stats: [] }, 'stats', /must be an object/);
    rejects({ lock: 'yes' }, 'lock', /must be an object/);
  });

  it('prefix must be a short string without spaces or braces', async () => {
    for (const bad of [1, false, 'has space', 'a{b}', 'x'.repeat(65)]) rejects({ prefix: bad }, 'prefix', /at most 64 characters/);
    await withResolved({ prefix: 'myapp:cache:' }, (options) => assert.equal(options.prefix, 'myapp:cache:'));
    await withResolved({ prefix: '' }, (options) => assert.equal(options.prefix, ''));
  });

  it('xCache must be a boolean', async () => {
    rejects({ xCache: 'yes' }, 'xCache', /true or false/);
    rejects({ xCache: 1 }, 'xCache', /true or false/);
    await withResolved({ xCache: false }, (options) => assert.equal(options.xCache, false));
  });

  it('statuses must be HTTP status codes between 200 and 599', async () => {
    for (const bad of [200, [100], [600], [200.5], ['200'], 'all']) rejects({ statuses: bad }, 'statuses', /e\.g\. \[200, 404\]/);
    await withResolved({ statuses: [200, 404] }, (options) => assert.deepEqual([...options.policy.statuses], [200, 404]));
  });

  it('ignoreCookies takes true or a list of cookie names and RegExps', async () => {
    for (const bad of ['_ga', false, ['has space'], ['a=b'], [1], [{}]]) rejects({ ignoreCookies: bad }, 'ignoreCookies', /cookie names and RegExps/);
    assert.throws(() => resilientCache().route({ ignoreCookies: 'all' as unknown as true }), (error: unknown) =>
      error instanceof CacheConfigError && error.option === 'route.ignoreCookies');
    await withResolved({ ignoreCookies: ['_ga', /^_utm/g] }, (options) => {
      assert.deepEqual([...options.policy.ignoreCookies.names], ['_ga']);
      assert.equal(options.policy.ignoreCookies.all, false);
      const [pattern] = options.policy.ignoreCookies.patterns;
      assert.ok(pattern?.test('_utm_source') && pattern.test('_utm_source'), 'a /g pattern does not alternate');
    });
    await withResolved({ ignoreCookies: true }, (options) => assert.equal(options.policy.ignoreCookies.all, true));
    await withResolved({}, (options) => assert.equal(options.policy.ignoreCookies.names.size + options.policy.ignoreCookies.patterns.length, 0));
  });

  it("ttlFrom is 'options' or 'response'; maxTtl needs 'response'; statuses then default to the RFC's rules", async () => {
    rejects({ ttlFrom: 'origin' }, 'ttlFrom', /'options'.*'response'/);
    rejects({ maxTtl: '1h' }, 'maxTtl', /needs ttlFrom: 'response'/);
    await withResolved({}, (options) => assert.deepEqual([options.policy.ttlFrom, options.policy.maxTtlMs, options.policy.statusesGiven], ['options', Infinity, true]));
    await withResolved({ ttlFrom: 'response', maxTtl: '1h' }, (options) => {
      assert.deepEqual([options.policy.ttlFrom, options.policy.maxTtlMs, options.policy.statusesGiven], ['response', 3_600_000, false]);
    });
    await withResolved({ ttlFrom: 'response', statuses: [200] }, (options) => assert.equal(options.policy.statusesGiven, true));
  });

  it('cacheStatus is true, false or a token naming the cache; invalidateOnUnsafe a boolean', async () => {
    for (const bad of ['has space', 'a;b', 1, '']) rejects({ cacheStatus: bad }, 'cacheStatus', /token/);
    rejects({ invalidateOnUnsafe: 'yes' }, 'invalidateOnUnsafe', /true or false/);
    await withResolved({}, (options) => assert.deepEqual([options.cacheStatus, options.invalidateOnUnsafe], [undefined, true]));
    await withResolved({ cacheStatus: true }, (options) => assert.equal(options.cacheStatus, 'express-resilient-cache'));
    await withResolved({ cacheStatus: 'edge' }, (options) => assert.equal(options.cacheStatus, 'edge'));
  });

  it('maxNames is a whole number of 1 or more, 500 by default', async () => {
    for (const bad of [0, -1, 1.5, '10']) rejects({ maxNames: bad }, 'maxNames', /whole number of 1 or more/);
    await withResolved({}, (options) => assert.equal(options.maxNames, 500));
  });

  it('lock accepts true, false and an object of durations', async () => {
    await withResolved({ lock: false }, (options) => assert.equal(options.lock, undefined));
    await withResolved({ lock: true }, (options) => assert.deepEqual(options.lock, { ttlMs: 5000, waitMs: 5000 }));
    await withResolved({ lock: { ttl: '2s', wait: '250ms' } }, (options) =>
      assert.deepEqual({ ...options.lock }, { ttlMs: 2000, waitMs: 250 }));
  });

  describe('redis', () => {
    it('undefined means memory only', async () => {
      await withCache({ redis: undefined }, (cache) => assert.equal(cache.tier, 'memory-only'));
    });

    it('accepts a redis:// or rediss:// URL', async () => {
      // Nothing listens on the port: the cache starts degraded to memory and close() still ends cleanly.
      const port = await freePort();
      await withCache({ redis: `redis://127.0.0.1:${port}/0` }, (cache) => assert.notEqual(cache.tier, 'memory-only'));
    });

    it('accepts ioredis options', async () => {
      const port = await freePort();
      await withCache({ redis: { host: '127.0.0.1', port } }, (cache) => assert.notEqual(cache.tier, 'memory-only'));
    });

    it('accepts an ioredis client, and close() leaves it to its owner', async () => {
      const port = await freePort();
      const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, enableOfflineQueue: false });
      client.on('error', () => undefined);
      try {
        await withCache({ redis: client }, (cache) => assert.notEqual(cache.tier, 'memory-only'));
        assert.notEqual(client.status, 'end', 'the cache must not close a client it did not create');
      } finally {
        client.disconnect();
      }
    });

    it('rejects a host:port without a scheme, saying which schemes work', () => {
      rejects({ redis: 'localhost:6379' }, 'redis', /redis:\/\/ or rediss:\/\//);
      rejects({ redis: 'http://localhost:6379' }, 'redis', /redis:\/\//);
    });

    it('rejects numbers, booleans and arrays', () => {
      for (const bad of [6379, true, ['redis://a']]) rejects({ redis: bad }, 'redis', /URL|ioredis/);
    });
  });
});

describe('cache.route() options', () => {
  it('suggests the near name for a misspelt route option', async () => {
    await withCache({}, (cache) => {
      assert.throws(() => cache.route({ tll: 1 } as never), (error: unknown) => {
        assert.ok(error instanceof CacheConfigError);
        assert.equal(error.option, 'route.tll');
        assert.match(error.message, /did you mean `ttl`\?/);
        return true;
      });
    });
  });

  it('rejects tags that are not a list of strings or a function', async () => {
    await withCache({}, (cache) => {
      for (const bad of ['x', [1], { a: 1 }]) {
        assert.throws(() => cache.route({ tags: bad } as never), (error: unknown) =>
          error instanceof CacheConfigError && error.option === 'route.tags' && /array of strings or a function/.test(error.message));
      }
      cache.route({ tags: ['a', 'b'] });
      cache.route({ tags: () => ['a'] });
    });
  });

  it('checks name, key and the policy options under route.*', async () => {
    await withCache({}, (cache) => {
      const check = (options: unknown, option: string) =>
        assert.throws(() => cache.route(options as never), (error: unknown) => error instanceof CacheConfigError && error.option === option);
      check({ name: '' }, 'route.name');
      check({ name: 5 }, 'route.name');
      check({ key: 'url' }, 'route.key');
      check({ ttl: 'soon' }, 'route.ttl');
      check({ ttl: -1 }, 'route.ttl');
      check({ staleWhileRevalidate: NaN }, 'route.staleWhileRevalidate');
      check({ staleIfError: 'x' }, 'route.staleIfError');
      check({ statuses: [99] }, 'route.statuses');
      check('5m', 'route');
    });
  });

  it('accepts good route options, false, and nothing', async () => {
    await withCache({}, (cache) => {
      assert.equal(typeof cache.route(), 'function');
      assert.equal(typeof cache.route(false), 'function');
      assert.equal(typeof cache.route({ ttl: '5m', name: 'users', tags: (req) => [`user:${String(req.params['id'])}`], key: (req) => req.path }), 'function');
    });
  });
});
