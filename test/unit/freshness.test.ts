import assert from 'node:assert/strict';
import type { OutgoingHttpHeaders } from 'node:http';
import { describe, it } from 'node:test';
import type { ResolvedPolicy } from '../../src/config/options.js';
import {
  ageValueMs, effectiveDirectives, explicitLifetimeMs, initialAgeMs, parseCacheControl, parseCdnCacheControl, parseHttpDate,
} from '../../src/http/freshness.js';
import { judgeResponse, type Verdict } from '../../src/http/policy.js';

// RFC 9111 §4.2 and §5, rule by rule, with the malformed forms the conformance suite sends.

const NOW = Date.UTC(2026, 5, 15, 12, 0, 0);
const at = { requestTime: NOW, responseTime: NOW };
const httpDate = (ms: number) => new Date(ms).toUTCString();

function lifetime(headers: OutgoingHttpHeaders): number | undefined {
  const { directives, targeted } = effectiveDirectives(headers);
  return explicitLifetimeMs(headers, directives, targeted, NOW);
}

function policy(overrides: Partial<ResolvedPolicy> = {}): ResolvedPolicy {
  return {
    ttlMs: 60_000, ttlFrom: 'options', maxTtlMs: Infinity, statusesGiven: true, staleWhileRevalidateMs: 0, staleIfErrorMs: 0,
    statuses: new Set([200]), ignoreCookies: { all: false, names: new Set(), patterns: [] }, ...overrides,
  };
}

/** Seconds of freshness left at arrival, or 'not stored'. */
function freshLeft(verdict: Verdict): number | string {
  return verdict.store ? (verdict.freshMs - verdict.initialAgeMs) / 1000 : 'not stored';
}

describe('HTTP-date (RFC 9110 §5.6.7)', () => {
  it('reads IMF-fixdate, RFC 850 and asctime, names in any case', () => {
    const expected = Date.UTC(2050, 7, 18, 2, 1, 18);
    for (const text of ['Thu, 18 Aug 2050 02:01:18 GMT', 'THU, 18 AUG 2050 02:01:18 gmt', 'Thursday, 18-Aug-50 02:01:18 GMT', 'Thu Aug 18 02:01:18 2050']) {
      assert.equal(parseHttpDate(text), expected, text);
    }
    assert.equal(parseHttpDate('Thu Aug  8 02:01:18 2050'), Date.UTC(2050, 7, 8, 2, 1, 18));
  });

  it('refuses every other form', () => {
    for (const text of ['Thu, 18 Aug 2050 02:01:18 UTC', 'Thu, 18 Aug 2050 02:01:18 AEST', 'Thu, 18 Aug 50 02:01:18 GMT',
      'Thu 18 Aug 2050 02:01:18 GMT', 'Thu, 18  Aug  2050 02:01:18 GMT', 'Thu, 18-Aug-2050 02:01:18 GMT', 'Thu, 18 Aug 2050 02.01.18 GMT',
      'Thu, 18 Aug 2050 2:01:18 GMT', 'Thu, 31 Feb 2050 02:01:18 GMT', 'Xyz, 18 Aug 2050 02:01:18 GMT', '0', '', '2050-08-18T02:01:18Z']) {
      assert.equal(parseHttpDate(text), undefined, text);
    }
  });
});

describe('Cache-Control parsing (RFC 9111 §5.2)', () => {
  it('names are case-insensitive, values tokens or quoted strings, the first of a repeated directive wins', () => {
    const cc = parseCacheControl('MaX-aGe=60, no-cache="set-cookie, a", max-age=1, Extension');
    assert.equal(cc.get('max-age'), '60');
    assert.equal(cc.get('no-cache'), 'set-cookie, a');
    assert.equal(cc.get('extension'), true);
  });

  it('a quoted directive is one value, whatever it holds', () => {
    assert.equal(parseCacheControl('extension="max-age=3600", max-age=1').get('max-age'), '1');
  });

  it('no whitespace around = makes a directive', () => {
    assert.equal(parseCacheControl('max-age =3600').get('max-age'), undefined);
  });
});

describe('CDN-Cache-Control (RFC 9213)', () => {
  it('is a Structured Fields dictionary: lower-case keys, integer lifetimes', () => {
    assert.equal(parseCdnCacheControl('max-age=3600, private')?.get('max-age'), '3600');
    assert.equal(parseCdnCacheControl('foobar, max-age=3600')?.get('foobar'), true);
    for (const invalid of ['max-age=10000, &&&&&', 'max-age="10000"', 'max-age =100', 'MaX-aGe=3600', 'max-age=1.5', 'max-age']) {
      assert.equal(parseCdnCacheControl(invalid), undefined, invalid);
    }
  });

  it('when valid, it is followed instead of Cache-Control and Expires; when invalid, ignored', () => {
    assert.equal(lifetime({ 'cdn-cache-control': 'max-age=1', 'cache-control': 'max-age=3600' }), 1000);
    assert.equal(lifetime({ 'cdn-cache-control': 'max-age=0', expires: httpDate(NOW + 10_000_000) }), 0);
    assert.equal(lifetime({ 'cdn-cache-control': 'private', 'cache-control': 'max-age=3600' }), undefined);
    assert.equal(lifetime({ 'cdn-cache-control': 'max-age="10000"', 'cache-control': 'max-age=5' }), 5000);
  });
});

describe('freshness lifetime (RFC 9111 §4.2.1)', () => {
  it('s-maxage, then max-age, then Expires minus Date', () => {
    assert.equal(lifetime({ 'cache-control': 'max-age=3600, s-maxage=1' }), 1000);
    assert.equal(lifetime({ 'cache-control': 's-maxage=1, max-age=3600' }), 1000);
    assert.equal(lifetime({ 'cache-control': 'max-age=60', expires: httpDate(NOW + 3_600_000) }), 60_000);
    assert.equal(lifetime({ expires: httpDate(NOW + 120_000), date: httpDate(NOW - 60_000) }), 180_000);
    assert.equal(lifetime({}), undefined);
  });

  it('a max-age that is not delta-seconds, or an Expires that is not one HTTP-date, means already stale', () => {
    for (const cc of ['max-age=-3600', "max-age='3600'", 'max-age=3600a', 'max-age=']) assert.equal(lifetime({ 'cache-control': cc }), 0, cc);
    assert.equal(lifetime({ 'cache-control': 'max-age=003600' }), 3_600_000, 'leading zeros are fine');
    assert.equal(lifetime({ expires: 'Thu, 18 Aug 2050 02:01:18 UTC' }), 0);
    assert.equal(lifetime({ expires: ['Thu, 18 Aug 2050 02:01:18 GMT', 'Thu, 18 Aug 2050 02:01:19 GMT'] } as unknown as OutgoingHttpHeaders), 0, 'two Expires lines');
  });

  it('caps delta-seconds at 2147483648', () => {
    assert.equal(lifetime({ 'cache-control': 'max-age=99999999999' }), 2_147_483_648_000);
  });
});

describe('Age (RFC 9111 §5.1, §4.2.3)', () => {
  it('takes the first value of the first line; ignores what is not delta-seconds; caps huge ones', () => {
    assert.equal(ageValueMs('7200, 0'), 7_200_000);
    assert.equal(ageValueMs(['7200', '0']), 7_200_000);
    for (const ignored of ['abc', '-7200', '7200.0', '']) assert.equal(ageValueMs(ignored), 0, ignored);
    assert.equal(ageValueMs('2147483649'), 2_147_483_648_000);
  });

  it('the initial age is the larger of the apparent age and Age plus the time the response took', () => {
    assert.equal(initialAgeMs({ age: '30' }, { requestTime: NOW - 2000, responseTime: NOW }), 32_000);
    assert.equal(initialAgeMs({ date: httpDate(NOW - 7_200_000) }, at), 7_200_000);
    assert.equal(initialAgeMs({ date: httpDate(NOW + 60_000), age: '5' }, at), 5000, 'a Date in the future is no age');
  });
});

describe('judgeResponse', () => {
  it("the age a response arrives with counts against its lifetime; ttl bounds what is left", () => {
    assert.equal(freshLeft(judgeResponse(200, { 'cache-control': 'max-age=3600', age: '7200' }, policy(), at)), 'not stored');
    assert.equal(freshLeft(judgeResponse(200, { 'cache-control': 'max-age=10000', age: '3600' }, policy(), at)), 60);
    assert.equal(freshLeft(judgeResponse(200, { 'cache-control': 'max-age=3600', age: '3590' }, policy(), at)), 10);
    assert.equal(freshLeft(judgeResponse(200, { 'cache-control': 'max-age=3600', age: '2147483647' }, policy(), at)), 'not stored');
  });

  it("ttlFrom: 'response' takes the response's lifetime, capped by maxTtl, and ttl only for heuristically cacheable statuses", () => {
    const byResponse = policy({ ttlFrom: 'response', statusesGiven: false });
    assert.equal(freshLeft(judgeResponse(200, { 'cache-control': 'max-age=3600' }, byResponse, at)), 3600);
    assert.equal(freshLeft(judgeResponse(200, { 'cache-control': 'max-age=3600' }, policy({ ttlFrom: 'response', statusesGiven: false, maxTtlMs: 600_000 }), at)), 600);
    assert.equal(freshLeft(judgeResponse(404, { 'last-modified': httpDate(NOW - 86_400_000) }, byResponse, at)), 60);
    assert.equal(freshLeft(judgeResponse(201, { 'last-modified': httpDate(NOW - 86_400_000) }, byResponse, at)), 'not stored');
    assert.equal(freshLeft(judgeResponse(503, { 'cache-control': 'max-age=100' }, byResponse, at)), 100, 'explicit freshness on any status');
    assert.equal(freshLeft(judgeResponse(599, { 'cache-control': 'public' }, byResponse, at)), 60);
  });

  it('must-revalidate, proxy-revalidate and s-maxage allow no stale windows', () => {
    const windows = policy({ staleWhileRevalidateMs: 30_000, staleIfErrorMs: 30_000 });
    for (const cc of ['max-age=10, must-revalidate', 'max-age=10, proxy-revalidate', 's-maxage=10', 'max-age=10, must-revalidate, stale-if-error=60']) {
      const verdict = judgeResponse(200, { 'cache-control': cc }, windows, at);
      assert.ok(verdict.store, cc);
      assert.deepEqual([verdict.staleWhileRevalidateMs, verdict.staleIfErrorMs], [0, 0], cc);
    }
    const open = judgeResponse(200, { 'cache-control': 'max-age=10, stale-if-error=60' }, windows, at);
    assert.ok(open.store && open.staleIfErrorMs === 60_000);
  });

  it('keeps a response with a validator past its freshness, to revalidate it', () => {
    const verdict = judgeResponse(200, { 'cache-control': 'max-age=2', etag: '"a"' }, policy(), at);
    assert.ok(verdict.store);
    assert.equal(verdict.freshMs, 2000);
    assert.equal(verdict.keepMs, 60_000);
  });

  it('no-store with must-understand is stored for a status the cache understands, not for another', () => {
    const cc = { 'cache-control': 'max-age=3600, no-store, must-understand' };
    assert.equal(judgeResponse(200, cc, policy(), at).store, true);
    assert.equal(judgeResponse(599, cc, policy({ ttlFrom: 'response', statusesGiven: false }), at).store, false);
  });
});
