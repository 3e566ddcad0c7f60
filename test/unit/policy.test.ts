import assert from 'node:assert/strict';
import type { OutgoingHttpHeaders } from 'node:http';
import { describe, it } from 'node:test';
import { judgeResponse, parseCacheControl, parseVary, personalReason, type Verdict } from '../../src/http/policy.js';
import type { ResolvedPolicy } from '../../src/config/options.js';

const NOW = Date.UTC(2025, 0, 15, 12, 0, 0);

function policy(overrides: Partial<ResolvedPolicy> = {}): ResolvedPolicy {
  return {
    ttlMs: 60_000, ttlFrom: 'options', maxTtlMs: Infinity, statusesGiven: true, staleWhileRevalidateMs: 0, staleIfErrorMs: 0,
    statuses: new Set([200]), ignoreCookies: { all: false, names: new Set(), patterns: [] }, ...overrides,
  };
}

function judge(headers: OutgoingHttpHeaders, options: { status?: number; policy?: ResolvedPolicy } = {}): Verdict {
  return judgeResponse(options.status ?? 200, headers, options.policy ?? policy(), { requestTime: NOW, responseTime: NOW });
}

function storedFor(verdict: Verdict): number {
  assert.ok(verdict.store, `expected the response to be stored, got: ${verdict.store ? '' : verdict.reason}`);
  return verdict.freshMs;
}

function notStored(verdict: Verdict, reason: RegExp): void {
  assert.equal(verdict.store, false);
  assert.ok(!verdict.store && reason.test(verdict.reason), `reason ${verdict.store ? '' : verdict.reason}`);
}

describe('judgeResponse', () => {
  it('stores a plain 200 for the configured ttl', () => {
    assert.equal(storedFor(judge({ 'content-type': 'text/plain' })), 60_000);
  });

  it('stores only the configured statuses, but lets waiters share the others', () => {
    for (const status of [201, 204, 301, 404, 500, 503]) {
      const verdict = judge({}, { status });
      notStored(verdict, new RegExp(`status ${status}`));
      assert.equal(verdict.share, true);
    }
    assert.equal(storedFor(judge({}, { status: 404, policy: policy({ statuses: new Set([200, 404]) }) })), 60_000);
  });

  it('never stores or shares a response that sets a cookie', () => {
    for (const cookie of ['sid=1', ['a=1', 'b=2']]) {
      const verdict = judge({ 'set-cookie': cookie, 'cache-control': 'public, max-age=60' });
      notStored(verdict, /set-cookie/);
      assert.equal(verdict.share, false);
    }
  });

  it('never stores no-store or private, in any case and position', () => {
    for (const cc of ['no-store', 'No-Store', 'public, max-age=60, private', 'private="set-cookie"', ['max-age=60', 'no-store']]) {
      const verdict = judge({ 'cache-control': cc } as OutgoingHttpHeaders);
      notStored(verdict, /cache-control/);
      assert.equal(verdict.share, false);
    }
  });

  it('never stores or shares a partial response, even when 206 is in statuses', () => {
    const verdict = judge({}, { status: 206, policy: policy({ statuses: new Set([200, 206]) }) });
    assert.equal(verdict.store, false);
    assert.equal(verdict.share, false);
  });

  it('never stores or shares an event stream', () => {
    for (const type of ['text/event-stream', 'Text/Event-Stream; charset=utf-8']) {
      const verdict = judge({ 'content-type': type });
      assert.deepEqual([verdict.store, verdict.share], [false, false], type);
    }
  });

  it('a body the handler encoded itself varies on Accept-Encoding', () => {
    assert.deepEqual(judge({ 'content-encoding': 'br' }).vary, ['accept-encoding']);
    assert.deepEqual(judge({ 'content-encoding': 'gzip', vary: 'Accept-Language' }).vary, ['accept-encoding', 'accept-language']);
    assert.deepEqual(judge({ 'content-encoding': 'identity' }).vary, []);
    assert.deepEqual(judge({}).vary, []);
  });

  it('personalReason: what stops a response being kept, whoever added it', () => {
    assert.equal(personalReason({ 'set-cookie': ['a=1'] }), 'set-cookie');
    assert.equal(personalReason({ 'cache-control': 'public, Private' }), 'cache-control: private');
    assert.equal(personalReason({ 'cache-control': 'max-age=60' }), undefined);
    assert.equal(personalReason({}), undefined);
  });

  it('never stores Vary: *', () => {
    notStored(judge({ vary: '*' }), /vary/);
    notStored(judge({ vary: 'Accept-Encoding, *' }), /vary/);
  });

  it('keeps the Vary fields of a stored response', () => {
    assert.deepEqual(judge({ vary: 'Accept-Language, accept-encoding' }).vary, ['accept-encoding', 'accept-language']);
  });

  it('max-age shortens the ttl but never lengthens it', () => {
    assert.equal(storedFor(judge({ 'cache-control': 'public, max-age=10' })), 10_000);
    assert.equal(storedFor(judge({ 'cache-control': 'max-age=3600' })), 60_000);
  });

  it('s-maxage wins over max-age, both ways', () => {
    assert.equal(storedFor(judge({ 'cache-control': 'max-age=5, s-maxage=30' })), 30_000);
    assert.equal(storedFor(judge({ 'cache-control': 's-maxage=5, max-age=30' })), 5_000);
  });

  it('max-age=0 or s-maxage=0 is not stored', () => {
    notStored(judge({ 'cache-control': 'max-age=0' }), /no freshness/);
    notStored(judge({ 'cache-control': 'max-age=60, s-maxage=0' }), /no freshness/);
  });

  it('accepts a quoted max-age value', () => {
    assert.equal(storedFor(judge({ 'cache-control': 'max-age="20"' })), 20_000);
  });

  it('a max-age that is not delta-seconds makes the response stale (RFC 9111 §1.2.2): not stored', () => {
    for (const cc of ['max-age=soon', 'max-age=-3600', "max-age='3600'", 'max-age=3600.5', 'max-age= 60']) {
      notStored(judge({ 'cache-control': cc }), /no freshness left/);
    }
  });

  it('no-cache is stored to be revalidated every time: fresh for 0, no stale windows, and only with a validator', () => {
    notStored(judge({ 'cache-control': 'no-cache' }), /no freshness left/);
    const verdict = judge({ 'cache-control': 'max-age=60, No-Cache, stale-while-revalidate=30', etag: '"a"' });
    assert.ok(verdict.store);
    assert.deepEqual([verdict.freshMs, verdict.staleWhileRevalidateMs, verdict.staleIfErrorMs], [0, 0, 0]);
    assert.equal(verdict.keepMs, 60_000, 'kept for the ttl, to be revalidated');
  });

  it('Expires without Date counts from now', () => {
    assert.equal(storedFor(judge({ expires: new Date(NOW + 20_000).toUTCString() })), 20_000);
    assert.equal(storedFor(judge({ expires: new Date(NOW + 3_600_000).toUTCString() })), 60_000);
  });

  it('Expires with Date counts from Date', () => {
    const headers = { date: new Date(NOW - 5_000).toUTCString(), expires: new Date(NOW + 25_000).toUTCString() };
    assert.equal(storedFor(judge(headers)), 30_000);
  });

  it('an Expires in the past is not stored', () => {
    notStored(judge({ expires: new Date(NOW - 1000).toUTCString() }), /no freshness/);
  });

  it('an Expires that does not parse means already expired', () => {
    notStored(judge({ expires: '0' }), /no freshness/);
    notStored(judge({ expires: 'never' }), /no freshness/);
  });

  it('max-age wins over Expires', () => {
    assert.equal(storedFor(judge({ 'cache-control': 'max-age=15', expires: new Date(NOW - 1000).toUTCString() })), 15_000);
  });

  it('takes stale-while-revalidate and stale-if-error from Cache-Control', () => {
    const verdict = judge({ 'cache-control': 'max-age=30, stale-while-revalidate=45, stale-if-error=600' });
    assert.ok(verdict.store);
    assert.equal(verdict.freshMs, 30_000);
    assert.equal(verdict.staleWhileRevalidateMs, 45_000);
    assert.equal(verdict.staleIfErrorMs, 600_000);
  });

  it('falls back to the policy stale windows when Cache-Control names none', () => {
    const verdict = judge({}, { policy: policy({ staleWhileRevalidateMs: 7_000, staleIfErrorMs: 9_000 }) });
    assert.ok(verdict.store);
    assert.equal(verdict.staleWhileRevalidateMs, 7_000);
    assert.equal(verdict.staleIfErrorMs, 9_000);
  });
});

describe('parseCacheControl', () => {
  it('lower-cases names, keeps values, marks bare directives true', () => {
    const cc = parseCacheControl('Public, MAX-AGE=60, , no-transform');
    assert.equal(cc.get('public'), true);
    assert.equal(cc.get('max-age'), '60');
    assert.equal(cc.get('no-transform'), true);
    assert.equal(cc.size, 3);
  });

  it('reads nothing from a missing header', () => {
    assert.equal(parseCacheControl(undefined).size, 0);
    assert.equal(parseCacheControl(42).size, 0);
  });
});

describe('parseVary', () => {
  it('lower-cases, trims, deduplicates and sorts', () => {
    assert.deepEqual(parseVary(' Accept-Encoding ,accept-language, ACCEPT-ENCODING'), ['accept-encoding', 'accept-language']);
  });

  it('joins repeated headers', () => {
    assert.deepEqual(parseVary(['Origin', 'Accept']), ['accept', 'origin']);
  });

  it('is empty for a missing or blank header', () => {
    assert.deepEqual(parseVary(undefined), []);
    assert.deepEqual(parseVary(' , '), []);
  });
});
