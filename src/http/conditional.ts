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
