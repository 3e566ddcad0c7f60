import { hash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { CapturedResponse } from './capture.js';
import type { ResponseEntry } from '../entry/entry.js';
import { Interner } from '../entry/intern.js';

/** Headers that describe one connection or one moment, not the response: never stored, set afresh on replay. */
const NOT_STORED = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade',
  'date', 'age', 'x-cache', 'content-length', 'set-cookie',
]);

/** Header names and common values, shared by every entry of this process (see Interner). */
const strings = new Interner();
const NO_TAGS: readonly string[] = Object.freeze([]);

/**
 * Turns a recorded response into an entry whose `headers` are ready to hand to `writeHead` as they are: original
 * header-name casing, repeated headers kept, `Content-Length` and a strong `ETag` (when the handler set none) added.
 */
export function buildResponseEntry(
  res: ServerResponse,
  captured: CapturedResponse & { body: Buffer },
  times: { now: number; freshMs: number; staleWhileRevalidateMs: number; staleIfErrorMs: number },
  name: string,
  tags: readonly string[],
): ResponseEntry {
  const headers: string[] = [];
  // getRawHeaderNames is on every OutgoingMessage at run time, though @types/node declares it on ClientRequest only.
  const rawNames = new Map((res as unknown as { getRawHeaderNames(): string[] }).getRawHeaderNames().map((raw) => [raw.toLowerCase(), raw]));
  let etag = '';
  for (const [lower, value] of Object.entries(captured.headers)) {
    if (value === undefined || NOT_STORED.has(lower)) continue;
    const raw = strings.intern(rawNames.get(lower) ?? lower);
    if (lower === 'etag') {
      etag = flatten(String(value));
      headers.push(raw, etag);
    } else if (Array.isArray(value)) {
      // Repeated values stay next to each other: replay appends a value whose name equals the previous one's.
      for (const v of value as unknown[]) headers.push(raw, strings.intern(String(v)));
    } else {
      headers.push(raw, strings.intern(String(value)));
    }
  }
  if (etag === '') {
    etag = flatten(`"${hash('sha1', captured.body, 'base64url')}"`);
    headers.push('ETag', etag);
  }
  headers.push('Content-Length', strings.intern(String(captured.body.length)));
  return {
    kind: 'response',
    status: captured.status,
    // A pushed-to array keeps spare capacity (about 190 bytes for 10 values); the copy is exact. Entries live long.
    headers: headers.slice(),
    body: compact(captured.body),
    etag,
    name: strings.intern(name),
    tags: tags.length === 0 ? NO_TAGS : tags,
    createdAt: times.now,
    freshUntil: times.now + times.freshMs,
    staleWhileRevalidateUntil: times.now + times.freshMs + times.staleWhileRevalidateMs,
    staleIfErrorUntil: times.now + times.freshMs + times.staleIfErrorMs,
  };
}

/**
 * A body that is a small slice of a larger buffer (Node's 8 KB allocation pool, or a socket read) would keep the
 * whole of it alive for as long as the entry lives: measured, about 3.2 KB held per cached 1 KB body. Long-lived
 * bodies get a buffer of their own.
 */
export function compact(body: Buffer): Buffer {
  if (body.byteOffset === 0 && body.buffer.byteLength === body.length) return body;
  const own = Buffer.allocUnsafeSlow(body.length);
  body.copy(own);
  return own;
}

/**
 * Joined strings (`W/"400-…"`, a key built from parts) are held by V8 as trees of their parts; a flat copy is about
 * half the size. Worth it only for strings that stay in the cache.
 */
export function flatten(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}

/** A response shared with concurrent waiters but not stored (an error, say): it lives only as long as the request. */
export function transientEntry(res: ServerResponse, captured: CapturedResponse & { body: Buffer }, name: string): ResponseEntry {
  const now = Date.now();
  return buildResponseEntry(res, captured, { now, freshMs: 0, staleWhileRevalidateMs: 0, staleIfErrorMs: 0 }, name, []);
}
