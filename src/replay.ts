import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ResponseEntry } from './entry.js';
import { applyHeaders, type ResponseWriter } from './capture.js';

export type ReplayLabel = 'HIT' | 'STALE' | 'MISS';

/** Headers a 304 repeats from the full response (RFC 9110 §15.4.5). */
const NOT_MODIFIED_HEADERS = new Set(['cache-control', 'content-location', 'etag', 'expires', 'vary']);

/**
 * Sends a stored response: the stored status, headers and bytes as they were recorded, plus `Age` and `X-Cache`.
 * HEAD gets the headers without the body; a matching `If-None-Match` gets `304` without a body.
 */
export function replay(
  req: IncomingMessage,
  res: ServerResponse,
  entry: ResponseEntry,
  label: ReplayLabel | undefined,
  now: number,
  writer: ResponseWriter = res as unknown as ResponseWriter,
): void {
  res.setHeader('Age', String(Math.max(0, Math.floor((now - entry.createdAt) / 1000))));
  if (label) res.setHeader('X-Cache', label);
  const inm = req.headers['if-none-match'];
  if (inm !== undefined && entry.etag !== '' && etagMatches(inm, entry.etag)) {
    // Node 20's writeHead(status, [name, value, …]) keeps only the last value of a repeated name once any header is
    // set (Age is, above), so the list goes on through appendHeader and writeHead gets the status alone.
    applyHeaders(res, notModifiedHeaders(entry.headers));
    writer.writeHead(304);
    writer.end();
    return;
  }
  applyHeaders(res, entry.headers);
  writer.writeHead(entry.status);
  writer.end(req.method === 'HEAD' ? undefined : entry.body);
}

/** Weak comparison, as `If-None-Match` requires: `W/"x"` matches `"x"`; `*` matches any. */
export function etagMatches(header: string, etag: string): boolean {
  const target = stripWeak(etag);
  for (const candidate of header.split(',')) {
    const tag = candidate.trim();
    if (tag === '*' || stripWeak(tag) === target) return true;
  }
  return false;
}

function stripWeak(tag: string): string {
  return tag.startsWith('W/') ? tag.slice(2) : tag;
}

function notModifiedHeaders(headers: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i + 1 < headers.length; i += 2) {
    // Stored names keep the handler's casing ('ETag', 'Cache-Control'); the set holds lower-case names.
    if (NOT_MODIFIED_HEADERS.has((headers[i] as string).toLowerCase())) kept.push(headers[i] as string, headers[i + 1] as string);
  }
  return kept;
}
