import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { ResponseEntry } from '../entry/entry.js';
import type { ResponseWriter } from './capture.js';
import { answersWithNotModified, rangeToServe } from './conditional.js';

export type ReplayLabel = 'HIT' | 'STALE' | 'MISS' | 'REVALIDATED';

/** How one replay is labelled and read. */
export interface ReplayOptions {
  /** `X-Cache`, or undefined for none. */
  readonly label: ReplayLabel | undefined;
  /** `Cache-Status`, made by the caller (see cache-status.ts), or undefined for none. */
  readonly cacheStatus?: string | undefined;
  readonly now: number;
  /** Writes past the capture of the request's own fill (serving a stale entry in place of a 5xx). */
  readonly writer?: ResponseWriter;
  /** The client's own conditional and range headers, when the request's were changed for a fill. */
  readonly clientHeaders?: IncomingHttpHeaders;
}

/** Headers a 304 repeats from the full response (RFC 9110 §15.4.5). */
const NOT_MODIFIED_HEADERS = new Set(['cache-control', 'content-location', 'date', 'etag', 'expires', 'vary']);

/** RFC 9111 §5.1: an Age past 2^31 seconds is sent as 2147483648. */
const MAX_AGE_SECONDS = 2_147_483_648;

/**
 * Sends a stored response: the stored status, headers and bytes as they were recorded, plus `Age` and `X-Cache`.
 * HEAD gets the headers without the body; a conditional request the entry satisfies gets `304`; a `Range` request a
 * `206` with its part (or `416`). It writes through `res` as the middleware before the cache left it, so they see a
 * hit as they saw the miss: compression compresses it for this client, a session adds its cookie.
 */
export function replay(req: IncomingMessage, res: ServerResponse, entry: ResponseEntry, options: ReplayOptions): void {
  const writer = options.writer ?? (res as unknown as ResponseWriter);
  const requestHeaders = options.clientHeaders ?? req.headers;
  res.setHeader('Age', String(Math.min(MAX_AGE_SECONDS, Math.max(0, Math.floor((options.now - entry.createdAt) / 1000)))));
  if (options.label) res.setHeader('X-Cache', options.label);
  if (options.cacheStatus) res.setHeader('Cache-Status', options.cacheStatus);
  // What the middleware after the cache removed on the miss (helmet's X-Powered-By, say) is removed again.
  for (const name of entry.unset) res.removeHeader(name);
  if (answersWithNotModified(requestHeaders, entry)) {
    // Node 20's writeHead(status, [name, value, …]) keeps only the last value of a repeated name once any header is
    // set (Age is, above), so the list goes on through appendHeader and writeHead gets the status alone.
    setStoredHeaders(res, notModifiedHeaders(entry.headers));
    writer.writeHead(304);
    writer.end();
    return;
  }
  setStoredHeaders(res, entry.headers);
  const range = req.method === 'GET' && entry.status === 200 ? rangeToServe(requestHeaders, entry) : undefined;
  if (range === 'unsatisfiable') {
    res.setHeader('Content-Range', `bytes */${entry.body.length}`);
    res.setHeader('Content-Length', '0');
    writer.writeHead(416);
    writer.end();
    return;
  }
  if (range) {
    const part = entry.body.subarray(range.start, range.end + 1);
    res.setHeader('Content-Range', `bytes ${range.start}-${range.end}/${entry.body.length}`);
    res.setHeader('Content-Length', String(part.length));
    writer.writeHead(206);
    writer.end(part);
    return;
  }
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
