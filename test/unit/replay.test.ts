import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { ResponseEntry } from '../../src/entry/entry.js';
import { etagMatches } from '../../src/http/conditional.js';
import { replay } from '../../src/http/replay.js';

describe('etagMatches (If-None-Match, weak comparison)', () => {
  it('matches the same strong tag', () => {
    assert.equal(etagMatches('"abc"', '"abc"'), true);
    assert.equal(etagMatches('"abc"', '"abd"'), false);
  });

  it('ignores W/ on either side', () => {
    assert.equal(etagMatches('W/"abc"', '"abc"'), true);
    assert.equal(etagMatches('"abc"', 'W/"abc"'), true);
    assert.equal(etagMatches('W/"abc"', 'W/"abc"'), true);
    assert.equal(etagMatches('W/"abc"', 'W/"xyz"'), false);
  });

  it('matches any tag in a list, with or without spaces', () => {
    assert.equal(etagMatches('"a", "b", W/"c"', '"c"'), true);
    assert.equal(etagMatches('"a","b"', '"b"'), true);
    assert.equal(etagMatches('"a", "b"', '"c"'), false);
  });

  it('* matches any tag', () => {
    assert.equal(etagMatches('*', '"anything"'), true);
  });

  it('does not match a tag without its quotes or a prefix of it', () => {
    assert.equal(etagMatches('abc', '"abc"'), false);
    assert.equal(etagMatches('"ab"', '"abc"'), false);
    assert.equal(etagMatches('', '"abc"'), false);
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
  };
  let server: Server;
  let base: string;

  before(async () => {
    server = createServer((req, res) => replay(req, res, entry, 'HIT', Date.now()));
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
    const res = await fetch(`${base}/`, { headers: { 'If-None-Match': 'W/"v1"' } });
    assert.equal(res.status, 304);
    assert.equal(await res.text(), '');
    assert.equal(res.headers.get('etag'), '"v1"');
    assert.equal(res.headers.get('cache-control'), 'public, max-age=60');
    assert.equal(res.headers.get('vary'), 'Accept-Encoding');
    assert.equal(res.headers.get('content-type'), null, 'a 304 carries no representation headers');
  });

  it('answers a non-matching If-None-Match with the full response', async () => {
    const res = await fetch(`${base}/`, { headers: { 'If-None-Match': '"other"' } });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'hello');
  });
});
