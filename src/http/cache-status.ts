/** What a `Cache-Status` entry (RFC 9211) says about one response. */
export interface CacheStatusParams {
  /** Served from the cache without going forward. */
  readonly hit?: boolean;
  /** Why it went forward to the route: no entry, none for this variant, a stale one, or not asked at all. */
  readonly fwd?: 'uri-miss' | 'vary-miss' | 'stale' | 'bypass';
  /** The status the route answered with, when it differs from the one sent (a 304 to a revalidation). */
  readonly fwdStatus?: number;
  /** Seconds of freshness left (negative once stale). */
  readonly ttlMs?: number;
  /** The response was stored. */
  readonly stored?: boolean;
  /** The request was answered with another request's response to the same entry (coalesced). */
  readonly collapsed?: boolean;
}

/** One `Cache-Status` list member for this cache: `name; hit; ttl=52`, `name; fwd=uri-miss; stored`. Never a key. */
export function cacheStatusValue(name: string, params: CacheStatusParams): string {
  let value = name;
  if (params.hit) value += '; hit';
  if (params.fwd) value += `; fwd=${params.fwd}`;
  if (params.fwdStatus !== undefined) value += `; fwd-status=${params.fwdStatus}`;
  if (params.ttlMs !== undefined) value += `; ttl=${Math.floor(params.ttlMs / 1000)}`;
  if (params.stored) value += '; stored';
  if (params.collapsed) value += '; collapsed';
  return value;
}
