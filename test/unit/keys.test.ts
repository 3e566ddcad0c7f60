import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Request } from 'express';
import { canonicalQuery, canonicalText, canonicalUrlOf, RequestKeys, variantDigest } from '../../src/http/keys.js';
import { digest, KeySpace } from '../../src/stores/key-space.js';

/** Just the request fields keying reads, as Express would set them. */
function fakeRequest(fields: { protocol?: string; originalUrl?: string; url?: string; headers?: Record<string, string | string[]>; trust?: boolean }): Request {
  return {
    protocol: fields.protocol ?? 'http',
    originalUrl: fields.originalUrl ?? fields.url ?? '/',
    url: fields.url ?? fields.originalUrl ?? '/',
    headers: { host: 'example.com', ...fields.headers },
    socket: { remoteAddress: '127.0.0.1' },
    app: { get: (setting: string) => (setting === 'trust proxy fn' ? () => fields.trust === true : undefined) },
  } as unknown as Request;
}

describe('canonicalQuery', () => {
  it('sorts parameters by name', () => {
    assert.equal(canonicalQuery('b=2&a=1&c=3'), 'a=1&b=2&c=3');
  });

  it('keeps repeated parameters in their original order (it is stable)', () => {
    assert.equal(canonicalQuery('b=1&a=2&b=0&a=1'), 'a=2&a=1&b=1&b=0');
    assert.notEqual(canonicalQuery('a=2&a=1'), canonicalQuery('a=1&a=2'));
  });

  it('drops empty pairs', () => {
    assert.equal(canonicalQuery('a=1&&b=2&'), 'a=1&b=2');
    assert.equal(canonicalQuery('&&'), '');
    assert.equal(canonicalQuery(''), '');
  });

  it('keeps flags without a value, and sorts them by name', () => {
    assert.equal(canonicalQuery('z&a=1&flag'), 'a=1&flag&z');
  });

  it('gives the same text for the same parameters in any order', () => {
    const orders = ['x=1&y=2&z=3', 'z=3&x=1&y=2', 'y=2&z=3&x=1'];
    assert.equal(new Set(orders.map(canonicalQuery)).size, 1);
  });

  it('sorts by the decoded name, so encodings of one name keep their order', () => {
    assert.notEqual(canonicalQuery('lang=en&%6cang=evil'), canonicalQuery('%6cang=evil&lang=en'));
    assert.notEqual(canonicalQuery('a+b=1&a%20b=2'), canonicalQuery('a%20b=2&a+b=1'));
    assert.equal(canonicalQuery('%6cang=en'), canonicalQuery('lang=en'));
    assert.equal(canonicalQuery('q=a+b'), canonicalQuery('q=a%20b'));
  });

  it("keeps a, a[] and a[x] in their relative order: the extended parser builds one value of them", () => {
    assert.notEqual(canonicalQuery('a=1&a[]=2'), canonicalQuery('a[]=2&a=1'));
    assert.equal(canonicalQuery('b=1&a[]=2&a=3'), canonicalQuery('a[]=2&a=3&b=1'));
  });

  it('never throws on malformed escapes', () => {
    assert.equal(canonicalQuery('a=%zz&b=%'), 'a=%25zz&b=%25');
  });
});

describe('canonicalText', () => {
  it('joins protocol, host, path and sorted query, each part on its own line', () => {
    assert.equal(canonicalText('https', 'api.example.com', '/users/42?b=2&a=1'), 'https\napi.example.com\n/users/42\na=1&b=2');
  });

  it('keeps the host and the path as sent', () => {
    assert.equal(canonicalText('http', 'API.Example.COM:8080', '/Users/Ann'), 'http\nAPI.Example.COM:8080\n/Users/Ann\n');
  });

  it('gives the same text for an empty query and none', () => {
    const none = canonicalText('http', 'example.com', '/x');
    assert.equal(canonicalText('http', 'example.com', '/x?'), none);
    assert.equal(canonicalText('http', 'example.com', '/x?&&'), none);
  });

  it('tells protocols, hosts and ports apart', () => {
    const texts = new Set([
      canonicalText('http', 'a.com', '/'), canonicalText('https', 'a.com', '/'), canonicalText('http', 'b.com', '/'),
      canonicalText('http', 'a.com:8080', '/'), canonicalText('http', 'A.com', '/'),
    ]);
    assert.equal(texts.size, 5);
  });

  it('refuses what is not an RFC 3986 host with an optional port, and protocols other than http(s)', () => {
    for (const host of ['example.test/docs', 'example.test\\docs', 'a b', 'user@host', 'a.test:80x', 'a.test?x', '[::1']) {
      assert.equal(canonicalText('http', host, '/'), undefined, host);
    }
    for (const host of ['example.test', 'a.test:8080', '127.0.0.1:3000', '[::1]:8080', 'xn--bcher-kva.example', '']) {
      assert.notEqual(canonicalText('http', host, '/'), undefined, host);
    }
    assert.equal(canonicalText('ftp', 'a.test', '/'), undefined);
  });

  it('canonicalUrlOf(url) gives what a request for that URL is keyed by', () => {
    assert.equal(canonicalUrlOf('https://api.example.com/users/42?b=2&a=1'), canonicalText('https', 'api.example.com', '/users/42?a=1&b=2'));
    assert.equal(canonicalUrlOf('HTTP://a.test'), canonicalText('http', 'a.test', '/'));
    assert.equal(canonicalUrlOf('https://a.test/x#frag'), canonicalText('https', 'a.test', '/x'));
    assert.equal(canonicalUrlOf('not a url'), undefined);
  });
});

describe('RequestKeys', () => {
  const keys = new RequestKeys(new KeySpace('k:'));

  it('keys a request by its own protocol, Host and originalUrl, so a mounted router keys on the full path', () => {
    const mounted = keys.ofRequest(fakeRequest({ originalUrl: '/api/items?id=1', url: '/items?id=1' }));
    assert.equal(mounted?.digest, digest(canonicalText('http', 'example.com', '/api/items?id=1') as string));
  });

  it('takes the host from X-Forwarded-Host only when trust proxy trusts the peer', () => {
    const headers = { host: 'inner.test', 'x-forwarded-host': 'outer.test, proxy.test' };
    const trusted = keys.ofRequest(fakeRequest({ headers, trust: true }));
    const untrusted = keys.ofRequest(fakeRequest({ headers, trust: false }));
    assert.equal(trusted?.digest, digest(canonicalText('http', 'outer.test', '/') as string));
    assert.equal(untrusted?.digest, digest(canonicalText('http', 'inner.test', '/') as string));
  });

  it('has no key for a request whose host is not a host', () => {
    assert.equal(keys.ofRequest(fakeRequest({ headers: { host: 'example.test/docs' } })), undefined);
    assert.equal(keys.ofRequest(fakeRequest({ headers: { host: 'ok.test', 'x-forwarded-host': 'bad/host' }, trust: true })), undefined);
  });

  it('keeps route keys apart from URLs', () => {
    const text = canonicalText('http', 'example.com', '/') as string;
    assert.notEqual(keys.ofRouteKey(text).key, keys.ofCanonical(text).key);
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
