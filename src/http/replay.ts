import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ResponseEntry } from '../entry/entry.js';
import type { ResponseWriter } from './capture.js';
import { etagMatches } from './conditional.js';

export type ReplayLabel = 'HIT' | 'STALE' | 'MISS';

/** Headers a 304 repeats from the full response (RFC 9110 §15.4.5). */
const NOT_MODIFIED_HEADERS = new Set(['cache-control', 'content-location', 'etag', 'expires', 'vary']);

/**
 * Sends a stored response: the stored status, headers and bytes as they were recorded, plus `Age` and `X-Cache`.
 * HEAD gets the headers without the body; a matching `If-None-Match` gets `304` without a body. It writes through
 * `res` as the middleware before the cache left it, so they see a hit as they saw the miss: compression compresses
 * it for this client, a session adds its cookie.
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
  // What the middleware after the cache removed on the miss (helmet's X-Powered-By, say) is removed again.
  for (const name of entry.unset) res.removeHeader(name);
  const inm = req.headers['if-none-match'];
  if (inm !== undefined && entry.etag !== '' && etagMatches(inm, entry.etag)) {
    // Node 20's writeHead(status, [name, value, …]) keeps only the last value of a repeated name once any header is
    // set (Age is, above), so the list goes on through appendHeader and writeHead gets the status alone.
    setStoredHeaders(res, notModifiedHeaders(entry.headers));
    writer.writeHead(304);
    writer.end();
    return;
  }
  setStoredHeaders(res, entry.headers);
  writer.writeHead(entry.status);
  writer.end(req.method === 'HEAD' ? undefined : entry.body);
}

/**
 * Sets a stored `[name, value, …]` list on the response. The first value of a name replaces whatever the app set
 * before us; the values of a repeated header sit next to each other in the list (see buildResponseEntry) and are
 * appended. Node 20's writeHead(status, list) would keep only the last value of a repeated name once any header is
 * set, and removing each name before appending it costs a header lookup per header on every hit.
 */
function setStoredHeaders(res: ServerResponse, headers: readonly string[]): void {
  let previous = '';
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i] as string;
    if (name === previous) res.appendHeader(name, headers[i + 1] as string);
    else res.setHeader(name, headers[i + 1] as string);
    previous = name;
  }
}

function notModifiedHeaders(headers: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i + 1 < headers.length; i += 2) {
    // Stored names keep the handler's casing ('ETag', 'Cache-Control'); the set holds lower-case names.
    if (NOT_MODIFIED_HEADERS.has((headers[i] as string).toLowerCase())) kept.push(headers[i] as string, headers[i + 1] as string);
  }
  return kept;
}
