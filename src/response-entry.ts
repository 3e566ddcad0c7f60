import { hash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { CapturedResponse } from './capture.js';
import type { ResponseEntry } from './entry.js';
import type { Verdict } from './freshness.js';

/** Headers that describe one connection or one moment, not the response: never stored, set afresh on replay. */
const NOT_STORED = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade',
  'date', 'age', 'x-cache', 'content-length', 'set-cookie',
]);

type StorableVerdict = Extract<Verdict, { store: true }>;

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
    const raw = rawNames.get(lower) ?? lower;
    if (Array.isArray(value)) for (const v of value as unknown[]) headers.push(raw, String(v));
    else headers.push(raw, String(value));
    if (lower === 'etag') etag = String(value);
  }
  if (etag === '') {
    etag = `"${hash('sha1', captured.body, 'base64url')}"`;
    headers.push('ETag', etag);
  }
  headers.push('Content-Length', String(captured.body.length));
  return {
    kind: 'response',
    status: captured.status,
    headers,
    body: captured.body,
    etag,
    name,
    tags,
    createdAt: times.now,
    freshUntil: times.now + times.freshMs,
    staleWhileRevalidateUntil: times.now + times.freshMs + times.staleWhileRevalidateMs,
    staleIfErrorUntil: times.now + times.freshMs + times.staleIfErrorMs,
  };
}

/** A response shared with concurrent waiters but not stored (an error, say): it lives only as long as the request. */
export function transientEntry(res: ServerResponse, captured: CapturedResponse & { body: Buffer }, name: string): ResponseEntry {
  const now = Date.now();
  return buildResponseEntry(res, captured, { now, freshMs: 0, staleWhileRevalidateMs: 0, staleIfErrorMs: 0 }, name, []);
}

export type { StorableVerdict };
