import { hash } from 'node:crypto';
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { EntryTimes, ResponseEntry } from '../entry/entry.js';
import { compact, flatten, Interner } from '../entry/intern.js';
import type { CapturedResponse } from './capture.js';

/**
 * Headers that describe one connection or one moment, not the response: never stored, set afresh on replay. `Date`
 * is stored (a hit keeps the response's own, RFC 9111 §4), `Age` is worked out on every hit from when it was made.
 */
const NOT_STORED = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade',
  'age', 'x-cache', 'cache-status', 'content-length', 'set-cookie',
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
  times: EntryTimes & { readonly arrivedAt: number },
  name: string,
  tags: readonly string[],
): ResponseEntry {
  const headers: string[] = [];
  // The response's own Date, or, as Node would have sent it, the moment it arrived (RFC 9110 §6.6.1).
  if (captured.headers['date'] === undefined) headers.push('Date', new Date(times.arrivedAt).toUTCString());
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
    createdAt: times.createdAt,
    freshUntil: times.freshUntil,
    staleWhileRevalidateUntil: times.staleWhileRevalidateUntil,
    staleIfErrorUntil: times.staleIfErrorUntil,
    keepUntil: times.keepUntil,
  };
}

/** A response shared with concurrent waiters but not stored (an error, say): it lives only as long as the request. */
export function transientEntry(res: ServerResponse, captured: CapturedResponse & { body: Buffer }, before: OutgoingHttpHeaders,
  now: number, name: string): ResponseEntry {
  const times = { createdAt: now, freshUntil: now, staleWhileRevalidateUntil: now, staleIfErrorUntil: now, keepUntil: now, arrivedAt: now };
  return buildResponseEntry(res, captured, before, times, name, []);
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


/**
 * A stored entry's headers updated from a 304 (RFC 9111 §3.2): each header the 304 carries replaces the stored
 * values of that name, except those never stored and `Content-Length` (it describes the stored body, not the 304).
 */
export function refreshedHeaders(stored: ResponseEntry, notModified: OutgoingHttpHeaders, arrivedAt: number): readonly string[] {
  const replaced = new Set<string>();
  const added: string[] = [];
  // The 304 is the newer response: its Date replaces the stored one, as the moment it came when it has none.
  if (notModified['date'] === undefined) {
    replaced.add('date');
    added.push('Date', new Date(arrivedAt).toUTCString());
  }
  for (const [lower, value] of Object.entries(notModified)) {
    if (value === undefined || NOT_STORED.has(lower)) continue;
    replaced.add(lower);
    for (const v of Array.isArray(value) ? value : [value]) added.push(strings.intern(lower), strings.intern(String(v)));
  }
  const kept: string[] = [];
  for (let i = 0; i + 1 < stored.headers.length; i += 2) {
    if (!replaced.has((stored.headers[i] as string).toLowerCase())) kept.push(stored.headers[i] as string, stored.headers[i + 1] as string);
  }
  return [...kept, ...added];
}

/** A stored `[name, value, …]` list as the headers object the policy reads (lower-case names, repeats as arrays). */
export function headerObject(headers: readonly string[]): OutgoingHttpHeaders {
  const object: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = (headers[i] as string).toLowerCase();
    const value = headers[i + 1] as string;
    const previous = object[name];
    object[name] = previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value];
  }
  return object;
}
