import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { resilientCache, type ResilientCache } from '../../src/index.js';
import { Calls, STEADY, headerLines, listen, redisKeys, redisReady, request, xCache, type RawResponse, type RunningApp } from '../helpers/app.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

// Whatever way a handler writes its response, a hit gives the client the same status, headers and bytes.

const MAX_BODY = 64 * 1024;
/** Random bytes with sequences that are not valid UTF-8 up front, so any text round-trip would show. */
const BINARY = Buffer.concat([Buffer.from([0xff, 0xfe, 0x00, 0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, 0xf0, 0x90, 0x28, 0xbc]), randomBytes(4096)]);
const STREAM_CHUNKS = [randomBytes(1000), randomBytes(1), randomBytes(7000), Buffer.from([0xff, 0xc0, 0x80])];
const BIG = randomBytes(MAX_BODY * 3 + 17);

let server: RedisServer;
let cache: ResilientCache;
let app: RunningApp;
const calls = new Calls();

before(async () => {
  server = await startRedisServer();
  cache = resilientCache({ ...STEADY, redis: server.url, prefix: 'replay:', maxBodyBytes: MAX_BODY });
  const web = express();
  web.use(cache);
  web.get('/send', (_req, res) => {
    calls.add('send');
    res.type('html').send('<p>hello, <b>wörld</b></p>');
  });
  web.get('/json', (_req, res) => {
    calls.add('json');
    res.json({ id: 7, name: 'Zoë', tags: ['a', 'b'], nested: { ok: true, n: null } });
  });
  web.get('/end', (_req, res) => {
    calls.add('end');
    res.statusCode = 200;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end('ended with res.end');
  });
  web.get('/writes', (_req, res) => {
    calls.add('writes');
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.write('first,');
    res.write(Buffer.from('second,'));
    res.write('thïrd', 'utf8');
    res.end();
  });
  web.get('/stream', (_req, res) => {
    calls.add('stream');
    res.setHeader('Content-Type', 'application/octet-stream');
    Readable.from(STREAM_CHUNKS).pipe(res);
  });
  web.get('/write-head-object', (_req, res) => {
    calls.add('write-head-object');
    res.writeHead(200, { 'Content-Type': 'text/plain', 'X-Custom': 'one', 'X-List': ['x', 'y'] });
    res.end('writeHead with an object');
  });
  web.get('/write-head-array', (_req, res) => {
    calls.add('write-head-array');
    res.writeHead(200, ['Content-Type', 'text/plain', 'X-Multi', 'a', 'X-Multi', 'b']);
    res.end('writeHead with a raw array');
  });
  web.get('/multi', (_req, res) => {
    calls.add('multi');
    res.setHeader('Link', ['</page/2>; rel="next"', '</page/0>; rel="prev"']);
    res.setHeader('X-Multi', ['1', '2', '3']);
    res.send('multi-valued headers');
  });
  web.get('/binary', (_req, res) => {
    calls.add('binary');
    res.type('application/octet-stream').send(BINARY);
  });
  web.get('/big', (_req, res) => {
    calls.add('big');
    res.setHeader('Content-Type', 'application/octet-stream');
    // Several chunks so the limit is crossed mid-stream, not in one write.
    const chunks: Buffer[] = [];
    for (let at = 0; at < BIG.length; at += 10_000) chunks.push(BIG.subarray(at, at + 10_000));
    Readable.from(chunks).pipe(res);
  });
  web.get('/head-only', (_req, res) => {
    calls.add('head-only');
    res.type('text').send('body of a route first asked with HEAD');
  });
  app = await listen(web);
  await redisReady(cache);
});

after(async () => {
  await app?.close();
  await cache?.close();
  await server?.stop();
});

/** Headers that describe the connection or the moment, or that the cache adds: not part of "the same response". */
const PER_RESPONSE = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding', 'content-length', 'x-cache', 'age', 'etag']);

/** Every header line the handler produced, in order, minus the per-response ones. */
function handlerHeaders(res: RawResponse): string[][] {
  const lines: string[][] = [];
  for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
    const name = res.rawHeaders[i] as string;
    if (!PER_RESPONSE.has(name.toLowerCase())) lines.push([name.toLowerCase(), res.rawHeaders[i + 1] as string]);
  }
  return lines.sort((a, b) => (a[0] as string).localeCompare(b[0] as string));
}

/**
 * Requests `path` twice: a MISS that runs the handler, then a HIT that does not, with the same status, header lines
 * and bytes. Returns both responses.
 */
async function missThenHit(path: string, name: string): Promise<[RawResponse, RawResponse]> {
  const miss = await request(app.base, path);
  assert.equal(xCache(miss), 'MISS', `${path}: first request`);
  assert.equal(calls.of(name), 1, `${path}: handler ran for the miss`);
  const hit = await request(app.base, path);
  assert.equal(xCache(hit), 'HIT', `${path}: second request`);
  assert.equal(calls.of(name), 1, `${path}: the hit did not run the handler`);
  assert.equal(hit.status, miss.status);
  assert.deepEqual(handlerHeaders(hit), handlerHeaders(miss), `${path}: same header lines`);
  assert.ok(hit.body.equals(miss.body), `${path}: same bytes`);
  assert.equal(hit.headers['content-length'], String(miss.body.length), `${path}: hit has the body's Content-Length`);
  assert.ok(hit.headers['age'] !== undefined, `${path}: hit carries Age`);
  return [miss, hit];
}

describe('capture and replay', () => {
  it('res.send', async () => {
    const [miss] = await missThenHit('/send', 'send');
    assert.equal(miss.body.toString('utf8'), '<p>hello, <b>wörld</b></p>');
    assert.equal(miss.headers['content-type'], 'text/html; charset=utf-8');
  });

  it('res.json', async () => {
    const [, hit] = await missThenHit('/json', 'json');
    assert.deepEqual(JSON.parse(hit.body.toString('utf8')), { id: 7, name: 'Zoë', tags: ['a', 'b'], nested: { ok: true, n: null } });
    assert.equal(hit.headers['content-type'], 'application/json; charset=utf-8');
  });

  it('res.end', async () => {
    const [, hit] = await missThenHit('/end', 'end');
    assert.equal(hit.body.toString('utf8'), 'ended with res.end');
  });

  it('several res.write calls', async () => {
    const [miss, hit] = await missThenHit('/writes', 'writes');
    assert.equal(miss.headers['transfer-encoding'], 'chunked', 'the miss streamed as the handler wrote it');
    assert.equal(hit.body.toString('utf8'), 'first,second,thïrd');
  });

  it('a piped Readable stream of binary chunks', async () => {
    const [, hit] = await missThenHit('/stream', 'stream');
    assert.ok(hit.body.equals(Buffer.concat(STREAM_CHUNKS)));
  });

  it('writeHead with a headers object', async () => {
    const [, hit] = await missThenHit('/write-head-object', 'write-head-object');
    assert.equal(hit.headers['x-custom'], 'one');
    assert.deepEqual(headerLines(hit, 'X-List'), ['x', 'y']);
    assert.equal(hit.body.toString('utf8'), 'writeHead with an object');
  });

  it('writeHead with a raw [name, value, …] array keeps repeated names', async () => {
    const [miss, hit] = await missThenHit('/write-head-array', 'write-head-array');
    assert.deepEqual(headerLines(miss, 'X-Multi'), ['a', 'b']);
    assert.deepEqual(headerLines(hit, 'X-Multi'), ['a', 'b']);
    assert.equal(hit.headers['content-type'], 'text/plain');
  });

  it('multi-valued headers come back as separate lines, in order', async () => {
    const [, hit] = await missThenHit('/multi', 'multi');
    assert.deepEqual(headerLines(hit, 'Link'), ['</page/2>; rel="next"', '</page/0>; rel="prev"']);
    assert.deepEqual(headerLines(hit, 'X-Multi'), ['1', '2', '3']);
  });

  it('binary bodies with invalid UTF-8 round-trip byte for byte', async () => {
    const [miss, hit] = await missThenHit('/binary', 'binary');
    assert.ok(miss.body.equals(BINARY));
    assert.ok(hit.body.equals(BINARY));
  });

  it('HEAD is served from the GET entry: headers and Content-Length, no body', async () => {
    const get = await request(app.base, '/send');
    assert.equal(xCache(get), 'HIT');
    const before = calls.of('send');
    const head = await request(app.base, '/send', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(xCache(head), 'HIT');
    assert.equal(head.body.length, 0);
    assert.equal(head.headers['content-length'], String(get.body.length));
    assert.equal(head.headers['content-type'], get.headers['content-type']);
    assert.equal(head.headers['etag'], get.headers['etag']);
    assert.equal(calls.of('send'), before, 'HEAD did not run the handler');
  });

  it('a HEAD miss runs the handler, sends no body, and stores nothing (only GET is stored)', async () => {
    const head = await request(app.base, '/head-only', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(xCache(head), 'MISS');
    assert.equal(head.body.length, 0);
    assert.equal(calls.of('head-only'), 1);
    const get = await request(app.base, '/head-only');
    assert.equal(xCache(get), 'MISS', 'the HEAD response was not stored');
    assert.equal(get.body.toString(), 'body of a route first asked with HEAD');
    assert.equal(calls.of('head-only'), 2);
    const head2 = await request(app.base, '/head-only', { method: 'HEAD' });
    assert.equal(xCache(head2), 'HIT', 'HEAD is then served from the GET entry');
    assert.equal(head2.headers['content-length'], String(get.body.length));
    assert.equal(calls.of('head-only'), 2);
  });

  it('a response over maxBodyBytes streams through complete and is not stored', async () => {
    const keysBefore = await redisKeys(server, 'replay:r:*');
    const first = await request(app.base, '/big');
    assert.equal(first.status, 200);
    assert.equal(xCache(first), 'MISS');
    assert.ok(first.body.equals(BIG), `got ${first.body.length} of ${BIG.length} bytes`);
    const second = await request(app.base, '/big');
    assert.equal(xCache(second), 'MISS');
    assert.ok(second.body.equals(BIG));
    assert.equal(calls.of('big'), 2, 'the handler ran again: nothing was stored');
    assert.deepEqual((await redisKeys(server, 'replay:r:*')).sort(), keysBefore.sort(), 'no new entry in Redis');
  });
});
