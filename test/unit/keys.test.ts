import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Request } from 'express';
import { canonicalUrl, sortQuery, variantDigest } from '../../src/http/keys.js';
import { digest, KeySpace } from '../../src/stores/key-space.js';

/** Just the request fields keying reads, as Express would set them. */
function fakeRequest(fields: { protocol?: string; host?: string; originalUrl?: string; url?: string; headers?: Record<string, string | string[]> }): Request {
  return {
    protocol: fields.protocol ?? 'http',
    host: fields.host ?? 'example.com',
    originalUrl: fields.originalUrl ?? fields.url ?? '/',
    url: fields.url ?? fields.originalUrl ?? '/',
    headers: fields.headers ?? {},
  } as unknown as Request;
}

describe('sortQuery', () => {
  it('sorts parameters by name', () => {
    assert.equal(sortQuery('b=2&a=1&c=3'), 'a=1&b=2&c=3');
  });

  it('keeps repeated parameters in their original order (it is stable)', () => {
    assert.equal(sortQuery('b=1&a=2&b=0&a=1'), 'a=2&a=1&b=1&b=0');
    assert.notEqual(sortQuery('a=2&a=1'), sortQuery('a=1&a=2'));
  });

  it('drops empty pairs', () => {
    assert.equal(sortQuery('a=1&&b=2&'), 'a=1&b=2');
    assert.equal(sortQuery('&&'), '');
    assert.equal(sortQuery(''), '');
  });

  it('keeps flags without a value, and sorts them by name', () => {
    assert.equal(sortQuery('z&a=1&flag'), 'a=1&flag&z');
  });

  it('gives the same text for the same parameters in any order', () => {
    const orders = ['x=1&y=2&z=3', 'z=3&x=1&y=2', 'y=2&z=3&x=1'];
    assert.equal(new Set(orders.map(sortQuery)).size, 1);
  });
});

describe('canonicalUrl', () => {
  it('joins protocol, host, path and sorted query', () => {
    const req = fakeRequest({ protocol: 'https', host: 'api.example.com', originalUrl: '/users/42?b=2&a=1' });
    assert.equal(canonicalUrl(req), 'https://api.example.com/users/42?a=1&b=2');
  });

  it('lower-cases the host but keeps the path as sent', () => {
    const req = fakeRequest({ host: 'API.Example.COM:8080', originalUrl: '/Users/Ann' });
    assert.equal(canonicalUrl(req), 'http://api.example.com:8080/Users/Ann');
  });

  it('leaves no dangling ? for an empty query', () => {
    assert.equal(canonicalUrl(fakeRequest({ originalUrl: '/x?' })), 'http://example.com/x');
    assert.equal(canonicalUrl(fakeRequest({ originalUrl: '/x?&&' })), 'http://example.com/x');
  });

  it('uses originalUrl, so a router mounted at /api keys on the full path', () => {
    const req = fakeRequest({ originalUrl: '/api/items?id=1', url: '/items?id=1' });
    assert.equal(canonicalUrl(req), 'http://example.com/api/items?id=1');
  });

  it('tells protocols and hosts apart', () => {
    const urls = new Set([
      canonicalUrl(fakeRequest({ protocol: 'http', host: 'a.com', originalUrl: '/' })),
      canonicalUrl(fakeRequest({ protocol: 'https', host: 'a.com', originalUrl: '/' })),
      canonicalUrl(fakeRequest({ protocol: 'http', host: 'b.com', originalUrl: '/' })),
    ]);
    assert.equal(urls.size, 3);
  });
});

describe('digest', () => {
  it('has a fixed length whatever the input', () => {
    const lengths = new Set(['', 'a', '/users/42?token=secret', 'x'.repeat(100_000)].map((text) => digest(text).length));
    assert.deepEqual([...lengths], [43]);
  });

  it('is URL-safe base64 and carries none of the input text', () => {
    const text = '/users/alice@example.com?session=hunter2';
    const value = digest(text);
    assert.match(value, /^[A-Za-z0-9_-]+$/);
    for (const piece of ['users', 'alice', 'example', 'hunter2', 'session']) assert.ok(!value.includes(piece));
  });

  it('is deterministic and tells different inputs apart', () => {
    assert.equal(digest('/a?x=1'), digest('/a?x=1'));
    assert.notEqual(digest('/a?x=1'), digest('/a?x=2'));
  });
});

describe('variantDigest', () => {
  it('depends on the values of the named request headers only', () => {
    const base = digest('http://example.com/');
    const gzip = fakeRequest({ headers: { 'accept-encoding': 'gzip', 'user-agent': 'a' } });
    const gzipOtherAgent = fakeRequest({ headers: { 'accept-encoding': 'gzip', 'user-agent': 'b' } });
    const br = fakeRequest({ headers: { 'accept-encoding': 'br' } });
    assert.equal(variantDigest(base, ['accept-encoding'], gzip), variantDigest(base, ['accept-encoding'], gzipOtherAgent));
    assert.notEqual(variantDigest(base, ['accept-encoding'], gzip), variantDigest(base, ['accept-encoding'], br));
    assert.notEqual(variantDigest(base, ['accept-encoding'], gzip), base);
  });
});

describe('KeySpace', () => {
  const keys = new KeySpace('app1:');
  const d = digest('http://example.com/');

  it('puts every key under the prefix', () => {
    const all = [keys.response(d), keys.value('user:1'), keys.tag('user:1'), keys.name('users'), keys.lock(keys.response(d)),
      keys.counters(123), keys.healthProbe('host-1')];
    for (const key of all) assert.ok(key.startsWith('app1:'), key);
  });

  it('keeps responses, values, tags and names apart for the same text', () => {
    const text = 'same';
    const all = [keys.response(text), keys.value(text), keys.tag(text), keys.name(text)];
    assert.equal(new Set(all).size, all.length);
    // Even a value key named after a response digest lands elsewhere.
    assert.notEqual(keys.value(d), keys.response(d));
  });

  it('hashes user text out of value, tag and name keys', () => {
    for (const key of [keys.value('alice@example.com'), keys.tag('alice@example.com'), keys.name('alice@example.com')]) {
      assert.ok(!key.includes('alice'), key);
    }
  });

  it('keeps an entry and its lock in one cluster slot (same hash tag)', () => {
    const entry = keys.response(d);
    const hashTag = (key: string) => /\{([^}]*)\}/.exec(key)?.[1];
    assert.equal(hashTag(keys.lock(entry)), hashTag(entry));
    assert.equal(hashTag(entry), d);
  });

  it('separates two prefixes completely', () => {
    const other = new KeySpace('app2:');
    assert.notEqual(other.response(d), keys.response(d));
    assert.notEqual(other.value('k'), keys.value('k'));
  });
});
