import type { IncomingMessage } from 'node:http';

/** Request headers that make a response depend on what the client already holds. */
const CONDITIONAL_HEADERS = new Set(['if-none-match', 'if-modified-since']);

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

/**
 * Removes the client's validators from a request that fills the cache: the client may hold an older version, and the
 * handler must produce the full response to store, not a 304 for that one client. Both views of the headers change,
 * so code that reads `rawHeaders` sees the same request.
 */
export function stripConditionalHeaders(req: IncomingMessage): void {
  for (const name of CONDITIONAL_HEADERS) delete req.headers[name];
  if (req.rawHeaders.some((text, i) => i % 2 === 0 && CONDITIONAL_HEADERS.has(text.toLowerCase()))) {
    req.rawHeaders = req.rawHeaders.filter((_, i, raw) => !CONDITIONAL_HEADERS.has(String(raw[i - (i % 2)]).toLowerCase()));
  }
}
