import { hash } from 'node:crypto';
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
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
const NONE: readonly string[] = Object.freeze([]);

/**
 * Turns a recorded response into an entry whose `headers` are ready to hand to `writeHead` as they are: original
 * header-name casing, repeated headers kept, `Content-Length` and a strong `ETag` (when the handler set none) added.
 *
 * `before` holds the headers the response already had when the cache saw the request, set by middleware mounted
 * before it. Those run again on every hit (cors answering that request's origin, helmet's headers), so a header they
 * set and nothing after changed is not stored; one that the middleware after the cache removed is stored as removed,
 * so a hit sends exactly the headers the miss sent.
 */
export function buildResponseEntry(
  res: ServerResponse,
  captured: CapturedResponse & { body: Buffer },
  before: OutgoingHttpHeaders,
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
    if (value === undefined || NOT_STORED.has(lower) || sameValue(before[lower], value)) continue;
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
    unset: removedSince(before, captured.headers),
    body: compact(captured.body),
    etag,
    name: strings.intern(name),
    tags: tags.length === 0 ? NONE : tags,
    ...entryTimes(now, lifetimes),
  };
}

/** A response shared with concurrent waiters but not stored (an error, say): it lives only as long as the request. */
export function transientEntry(res: ServerResponse, captured: CapturedResponse & { body: Buffer }, before: OutgoingHttpHeaders,
  now: number, name: string): ResponseEntry {
  return buildResponseEntry(res, captured, before, now, NOT_KEPT, name, []);
}

function sameValue(earlier: OutgoingHttpHeaders[string], value: OutgoingHttpHeaders[string]): boolean {
  if (earlier === undefined) return false;
  return Array.isArray(earlier) || Array.isArray(value) ? String(earlier) === String(value) : `${earlier}` === `${value}`;
}

/** Names of headers in `before` that `after` no longer has. */
function removedSince(before: OutgoingHttpHeaders, after: OutgoingHttpHeaders): readonly string[] {
  let removed: string[] | undefined;
  for (const name in before) if (after[name] === undefined && !NOT_STORED.has(name)) (removed ??= []).push(strings.intern(name));
  return removed ?? NONE;
}

const NOT_KEPT: Lifetimes = Object.freeze({ freshMs: 0, staleWhileRevalidateMs: 0, staleIfErrorMs: 0 });
