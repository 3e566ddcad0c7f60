import { hash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { entryTimes, type Lifetimes, type ResponseEntry } from '../entry/entry.js';
import { compact, flatten, Interner } from '../entry/intern.js';
import type { CapturedResponse } from './capture.js';

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
  now: number,
  lifetimes: Lifetimes,
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
    ...entryTimes(now, lifetimes),
  };
}

/** A response shared with concurrent waiters but not stored (an error, say): it lives only as long as the request. */
export function transientEntry(res: ServerResponse, captured: CapturedResponse & { body: Buffer }, now: number, name: string): ResponseEntry {
  return buildResponseEntry(res, captured, now, NOT_KEPT, name, []);
}

const NOT_KEPT: Lifetimes = Object.freeze({ freshMs: 0, staleWhileRevalidateMs: 0, staleIfErrorMs: 0 });
