import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import fresh from 'fresh';
import parseRange from 'range-parser';
import type { ResponseEntry } from '../entry/entry.js';

// Conditional and range requests: the client's validators answered from an entry (304), stripped from a request that
// fills the cache, and set from a stale entry to revalidate it; single ranges served from a stored 200.

/** Request headers that make a response depend on what the client already holds. */
const CONDITIONAL_HEADERS = new Set(['if-none-match', 'if-modified-since']);

/** The first value of a stored header (names compared case-insensitively), or undefined. */
export function storedHeader(entry: ResponseEntry, lowerName: string): string | undefined {
  const headers = entry.headers;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if ((headers[i] as string).toLowerCase() === lowerName) return headers[i + 1];
  }
  return undefined;
}

/**
 * True when the client's `If-None-Match` (weak comparison) or, without one, `If-Modified-Since` says it holds the
 * entry already: RFC 9110 §13.1, as Express decides it for its own responses (the `fresh` package).
 */
export function answersWithNotModified(request: IncomingHttpHeaders, entry: ResponseEntry): boolean {
  if (request['if-none-match'] === undefined && request['if-modified-since'] === undefined) return false;
  return fresh(request, { etag: entry.etag || undefined, 'last-modified': storedHeader(entry, 'last-modified') });
}

/**
 * The one range of the entry's body a `Range` request asks for, 'unsatisfiable' (416), or undefined to send it whole:
 * no `Range`, one that does not parse, several ranges, or an `If-Range` that no longer matches (RFC 9110 §14.2, §13.1.5:
 * an entity tag compared strongly, a date exactly against `Last-Modified`).
 */
export function rangeToServe(request: IncomingHttpHeaders, entry: ResponseEntry): { start: number; end: number } | 'unsatisfiable' | undefined {
  const header = request.range;
  if (header === undefined) return undefined;
  const ifRange = request['if-range'];
  if (ifRange !== undefined && !ifRangeMatches(String(ifRange), entry)) return undefined;
  const ranges = parseRange(entry.body.length, String(header), { combine: true });
  if (ranges === -1) return 'unsatisfiable';
  if (ranges === -2 || ranges.type !== 'bytes' || ranges.length !== 1) return undefined;
  const [range] = ranges;
  return range && { start: range.start, end: range.end };
}

function ifRangeMatches(value: string, entry: ResponseEntry): boolean {
  const trimmed = value.trim();
  if (trimmed.startsWith('"') || trimmed.startsWith('W/')) return !trimmed.startsWith('W/') && !entry.etag.startsWith('W/') && trimmed === entry.etag;
  const lastModified = storedHeader(entry, 'last-modified');
  return lastModified !== undefined && trimmed === lastModified.trim();
}

/**
 * Removes the client's validators from a request that fills the cache: the client may hold an older version, and the
 * handler must produce the full response to store, not a 304 for that one client. Both views of the headers change,
 * so code that reads `rawHeaders` sees the same request. Returns what was removed, to answer the client with.
 */
export function stripConditionalHeaders(req: IncomingMessage): IncomingHttpHeaders {
  const removed: IncomingHttpHeaders = {};
  for (const name of CONDITIONAL_HEADERS) {
    if (req.headers[name] === undefined) continue;
    removed[name] = req.headers[name];
    delete req.headers[name];
  }
  if (req.rawHeaders.some((text, i) => i % 2 === 0 && CONDITIONAL_HEADERS.has(text.toLowerCase()))) {
    req.rawHeaders = req.rawHeaders.filter((_, i, raw) => !CONDITIONAL_HEADERS.has(String(raw[i - (i % 2)]).toLowerCase()));
  }
  return removed;
}

/**
 * Asks the route whether a stale entry is still current (RFC 9111 §4.3.1): `If-None-Match` with its entity tag,
 * `If-Modified-Since` with its `Last-Modified`. Express's `res.send`, `express.static` and `res.sendFile` then answer
 * `304` when it is.
 */
export function setValidators(req: IncomingMessage, entry: ResponseEntry): void {
  const headers: Array<[string, string]> = [];
  if (entry.etag) headers.push(['If-None-Match', entry.etag]);
  const lastModified = storedHeader(entry, 'last-modified');
  if (lastModified) headers.push(['If-Modified-Since', lastModified]);
  for (const [name, value] of headers) {
    req.headers[name.toLowerCase()] = value;
    req.rawHeaders.push(name, value);
  }
}
