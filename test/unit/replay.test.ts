import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { ResponseEntry } from '../../src/entry/entry.js';
import { answersWithNotModified } from '../../src/http/conditional.js';
import { replay } from '../../src/http/replay.js';
import { request } from '../helpers/app.js';

/** Whether an entry with entity tag `etag` answers `If-None-Match: header` with a 304. */
function notModified(header: string, etag: string): boolean {
  return answersWithNotModified({ 'if-none-match': header }, { etag, headers: [] } as unknown as ResponseEntry);
}

describe('If-None-Match on a hit (weak comparison)', () => {
  it('matches the same strong tag', () => {
    assert.equal(notModified('"abc"', '"abc"'), true);
    assert.equal(notModified('"abc"', '"abd"'), false);
  });

  it('ignores W/ on either side', () => {
    assert.equal(notModified('W/"abc"', '"abc"'), true);
    assert.equal(notModified('"abc"', 'W/"abc"'), true);
    assert.equal(notModified('W/"abc"', 'W/"abc"'), true);
    assert.equal(notModified('W/"abc"', 'W/"xyz"'), false);
  });

  it('matches any tag in a list, with or without spaces', () => {
    assert.equal(notModified('"a", "b", W/"c"', '"c"'), true);
    assert.equal(notModified('"a","b"', '"b"'), true);
    assert.equal(notModified('"a", "b"', '"c"'), false);
  });

  it('* matches any tag', () => {
    assert.equal(notModified('*', '"anything"'), true);
  });

  it('does not match a tag without its quotes or a prefix of it', () => {
    assert.equal(notModified('abc', '"abc"'), false);
    assert.equal(notModified('"ab"', '"abc"'), false);
    assert.equal(notModified('', '"abc"'), false);
  });
});

describe('replay over HTTP', () => {
  const entry: ResponseEntry = {
    kind: 'response',
    status: 200,
    unset: [],
    // Names as buildResponseEntry stores them: the handler's own casing.
    headers: ['Content-Type', 'text/plain', 'Cache-Control', 'public, max-age=60', 'Vary', 'Accept-Encoding',
      'Link', '</a>; rel=preload', 'Link', '</b>; rel=preload', 'ETag', '"v1"', 'Content-Length', '5'],
    body: Buffer.from('hello'),
    etag: '"v1"',
    name: 'test',
    tags: [],
    createdAt: Date.now() - 12_000,
    freshUntil: Date.now() + 60_000,
    staleWhileRevalidateUntil: Date.now() + 60_000,
    staleIfErrorUntil: Date.now() + 60_000,
    keepUntil: Date.now() + 60_000,
  };
  let server: Server;
  let base: string;

  before(async () => {
    server = createServer((req, res) => replay(req, res, entry, { label: 'HIT', now: Date.now() }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('sends the stored status, headers, body, Age and X-Cache', async () => {
    const res = await fetch(`${base}/`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'hello');
    assert.equal(res.headers.get('x-cache'), 'HIT');
    assert.ok(Number(res.headers.get('age')) >= 12);
    assert.equal(res.headers.get('etag'), '"v1"');
    assert.equal(res.headers.get('link'), '</a>; rel=preload, </b>; rel=preload');
  });

  it('sends HEAD without a body', async () => {
    const res = await fetch(`${base}/`, { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-length'), '5');
    assert.equal(await res.text(), '');
  });

  it('answers a matching If-None-Match with 304, repeating ETag, Cache-Control and Vary', async () => {
    // node:http, not fetch: fetch adds Cache-Control: no-cache to a conditional request, which asks for the full response.
    const res = await request(base, '/', { headers: { 'If-None-Match': 'W/"v1"' } });
    assert.equal(res.status, 304);
    assert.equal(res.body.length, 0);
    assert.equal(res.headers['etag'], '"v1"');
    assert.equal(res.headers['cache-control'], 'public, max-age=60');
    assert.equal(res.headers['vary'], 'Accept-Encoding');
    assert.equal(res.headers['content-type'], undefined, 'a 304 carries no representation headers');
  });

  it('answers a conditional request that asks for no-cache with the full response, as Express does', async () => {
    const res = await request(base, '/', { headers: { 'If-None-Match': '"v1"', 'Cache-Control': 'no-cache' } });
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), 'hello');
  });

  it('answers a single Range with 206 and its bytes, an unsatisfiable one with 416, and If-Range that no longer matches in full', async () => {
    const part = await request(base, '/', { headers: { Range: 'bytes=1-3' } });
    assert.equal(part.status, 206);
    assert.equal(part.body.toString(), 'ell');
    assert.equal(part.headers['content-range'], 'bytes 1-3/5');
    const suffix = await request(base, '/', { headers: { Range: 'bytes=-2' } });
    assert.equal(suffix.body.toString(), 'lo');
    const beyond = await request(base, '/', { headers: { Range: 'bytes=9-' } });
    assert.equal(beyond.status, 416);
    assert.equal(beyond.headers['content-range'], 'bytes */5');
    const matching = await request(base, '/', { headers: { Range: 'bytes=0-0', 'If-Range': '"v1"' } });
    assert.equal(matching.status, 206);
    const changed = await request(base, '/', { headers: { Range: 'bytes=0-0', 'If-Range': '"v0"' } });
    assert.equal(changed.status, 200);
    assert.equal(changed.body.toString(), 'hello');
    const several = await request(base, '/', { headers: { Range: 'bytes=0-0,2-3' } });
    assert.equal(several.status, 200, 'several ranges: the whole body');
  });

  it('answers a non-matching If-None-Match with the full response', async () => {
    const res = await fetch(`${base}/`, { headers: { 'If-None-Match': '"other"' } });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'hello');
  });
});
