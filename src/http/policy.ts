import type { OutgoingHttpHeaders } from 'node:http';
import type { ResolvedPolicy } from '../config/options.js';
import {
  deltaSecondsMs, effectiveDirectives, explicitLifetimeMs, HEURISTICALLY_CACHEABLE, initialAgeMs, type Directives,
  type ResponseTimes,
} from './freshness.js';

export { parseCacheControl } from './freshness.js';

/** How long a storable response may be kept, or why it may not be stored at all. */
export type Verdict =
  | {
    readonly store: false;
    readonly reason: string;
    /** May concurrent requests for the same URL be given this response (errors included)? */
    readonly share: boolean;
    readonly vary: readonly string[];
  }
  | {
    readonly store: true;
    readonly share: true;
    /** The age it arrived with: the entry was made this long before it came. */
    readonly initialAgeMs: number;
    /** Lifetimes from its making (RFC 9111 §4.2); `freshMs` may be 0: stored to be revalidated. */
    readonly freshMs: number;
    readonly staleWhileRevalidateMs: number;
    readonly staleIfErrorMs: number;
    readonly keepMs: number;
    readonly vary: readonly string[];
  };

/**
 * Why a response may not be kept in a shared cache, whoever added the header and whenever: `Set-Cookie`, or
 * `private` or `no-store` (in `CDN-Cache-Control` when it has a valid one, else `Cache-Control`). A `no-store` the
 * cache understands the status of is lifted by `must-understand` (RFC 9111 §5.2.2.3). Undefined when nothing stops it.
 */
export function personalReason(headers: OutgoingHttpHeaders, understood: (status: number) => boolean = () => false, status = 200): string | undefined {
  if (headers['set-cookie'] !== undefined) return 'set-cookie';
  if (headers['cache-control'] === undefined && headers['cdn-cache-control'] === undefined) return undefined;
  const { directives } = effectiveDirectives(headers);
  if (directives.has('private')) return 'cache-control: private';
  if (directives.has('no-store') && !(directives.has('must-understand') && understood(status))) return 'cache-control: no-store';
  return undefined;
}

/**
 * Decides, from the status and the headers the route produced, whether a shared cache may store a response, and for
 * how long (RFC 9111 §3 and §4.2). With `ttlFrom: 'options'` the lifetime is `ttl`, shortened by the response's own;
 * with `'response'`, the response's own (capped by `maxTtl`), `ttl` only as the heuristic for one that gives none.
 * Either way the age it arrived with counts against it.
 */
export function judgeResponse(status: number, headers: OutgoingHttpHeaders, policy: ResolvedPolicy, times: ResponseTimes): Verdict {
  const vary = withEncoding(parseVary(headers['vary']), headers);
  const { directives, targeted } = effectiveDirectives(headers);
  const understood = (code: number) => storableStatus(code, policy, undefined, directives);
  const personal = personalReason(headers, understood, status);
  if (personal) return { store: false, share: false, reason: personal, vary };
  // A part of the body answers one Range request; a plain request must never get it, nor join the request for it.
  if (status === 206) return { store: false, share: false, reason: 'partial content', vary };
  // A stream of events is one subscriber's: it may never end, and others must not wait for it.
  if (isEventStream(headers)) return { store: false, share: false, reason: 'text/event-stream', vary };
  if (vary.includes('*')) return { store: false, share: false, reason: 'vary: *', vary };
  const explicit = explicitLifetimeMs(headers, directives, targeted, times.responseTime);
  if (!storableStatus(status, policy, explicit, directives)) return { store: false, share: true, reason: `status ${status}`, vary };
  const initialAge = initialAgeMs(headers, times);
  const lifetime = lifetimeMs(status, policy, explicit, directives, initialAge);
  // no-cache: stored, but never used without revalidation (§5.2.2.4); useful only with a validator.
  const noCache = directives.has('no-cache');
  const freshMs = noCache ? 0 : lifetime;
  // must-revalidate, proxy-revalidate and s-maxage forbid serving it stale (§4.2.4, §5.2.2.2, §5.2.2.8, §5.2.2.10).
  const noStale = noCache || ['must-revalidate', 'proxy-revalidate', 's-maxage'].some((name) => directives.has(name));
  const staleWhileRevalidateMs = noStale ? 0 : windowMs(directives, 'stale-while-revalidate') ?? policy.staleWhileRevalidateMs;
  const staleIfErrorMs = noStale ? 0 : windowMs(directives, 'stale-if-error') ?? policy.staleIfErrorMs;
  const validator = headers['etag'] !== undefined || headers['last-modified'] !== undefined;
  const usable = Math.max(freshMs + staleWhileRevalidateMs, freshMs + staleIfErrorMs);
  if (usable - initialAge <= 0 && !validator) return { store: false, share: true, reason: 'no freshness left', vary };
  // With a validator it is kept past its freshness, to be revalidated rather than fetched again.
  const keepMs = validator ? Math.max(usable, initialAge + Math.min(policy.ttlMs, policy.maxTtlMs)) : usable;
  return { store: true, share: true, initialAgeMs: initialAge, freshMs, staleWhileRevalidateMs, staleIfErrorMs, keepMs, vary };
}

/** May a response with this status be stored? In 'response' mode with no `statuses` given, RFC 9111 §3 decides. */
function storableStatus(status: number, policy: ResolvedPolicy, explicit: number | undefined, directives: Directives): boolean {
  if (status === 206 || status < 200) return false;
  if (policy.statusesGiven) return policy.statuses.has(status);
  return HEURISTICALLY_CACHEABLE.has(status) || explicit !== undefined || directives.has('public');
}

/**
 * The freshness lifetime the policy gives the response, from its making. `ttl` and `maxTtl` bound how long it stays
 * fresh here, from its arrival: a response that came an hour old with `max-age=10000` is fresh for `ttl` more.
 */
function lifetimeMs(status: number, policy: ResolvedPolicy, explicit: number | undefined, directives: Directives, initialAge: number): number {
  if (policy.ttlFrom === 'options') return Math.min(initialAge + policy.ttlMs, explicit ?? Infinity);
  if (explicit !== undefined) return Math.min(explicit, initialAge + policy.maxTtlMs);
  // A heuristic lifetime only for statuses the RFC allows it for, or a response marked public (§4.2.2).
  const heuristic = HEURISTICALLY_CACHEABLE.has(status) || directives.has('public');
  return heuristic ? initialAge + Math.min(policy.ttlMs, policy.maxTtlMs) : 0;
}

function windowMs(directives: Directives, name: string): number | undefined {
  const ms = deltaSecondsMs(directives, name);
  return ms === undefined || Number.isNaN(ms) ? undefined : ms;
}

function isEventStream(headers: OutgoingHttpHeaders): boolean {
  const type = headers['content-type'];
  return typeof type === 'string' && type.trimStart().toLowerCase().startsWith('text/event-stream');
}

/**
 * A body the handler encoded itself (`Content-Encoding: br`, say) is stored as it is, so it varies on
 * `Accept-Encoding`: a client that did not ask for that coding gets its own variant, never those bytes.
 */
function withEncoding(vary: string[], headers: OutgoingHttpHeaders): string[] {
  const coding = headers['content-encoding'];
  if (coding === undefined || String(coding).trim().toLowerCase() === 'identity' || vary.includes('accept-encoding')) return vary;
  return [...vary, 'accept-encoding'].sort();
}

/** Lower-cased field names a `Vary` header lists, deduplicated, in a stable order. */
export function parseVary(value: unknown): string[] {
  const text = Array.isArray(value) ? value.join(',') : typeof value === 'string' ? value : '';
  const fields = new Set<string>();
  for (const part of text.split(',')) {
    const field = part.trim().toLowerCase();
    if (field !== '') fields.add(field);
  }
  return [...fields].sort();
}
