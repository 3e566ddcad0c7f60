import type { OutgoingHttpHeaders } from 'node:http';
import type { ResolvedPolicy } from '../config/options.js';

/** Parsed `Cache-Control` directives: lower-cased names; `true` for directives without a value. */
export type Directives = ReadonlyMap<string, string | true>;

export function parseCacheControl(value: unknown): Directives {
  const directives = new Map<string, string | true>();
  const text = Array.isArray(value) ? value.join(',') : typeof value === 'string' ? value : '';
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    const name = (eq === -1 ? part : part.slice(0, eq)).trim().toLowerCase();
    if (name === '') continue;
    directives.set(name, eq === -1 ? true : part.slice(eq + 1).trim().replace(/^"|"$/g, ''));
  }
  return directives;
}

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
    readonly freshMs: number;
    readonly staleWhileRevalidateMs: number;
    readonly staleIfErrorMs: number;
    readonly vary: readonly string[];
  };

const NEVER_STORE = ['no-store', 'no-cache', 'private'] as const;

/**
 * Why a response as it went out may not be kept, whoever added the header and whenever: `Set-Cookie`, or
 * `Cache-Control` with `no-store`, `no-cache` or `private`. Undefined when nothing stops it.
 */
export function personalReason(headers: OutgoingHttpHeaders): string | undefined {
  if (headers['set-cookie'] !== undefined) return 'set-cookie';
  if (headers['cache-control'] === undefined) return undefined;
  const cc = parseCacheControl(headers['cache-control']);
  for (const directive of NEVER_STORE) if (cc.has(directive)) return `cache-control: ${directive}`;
  return undefined;
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

/**
 * Decides, from the status and headers the handler set, whether a shared cache may store a response, and for how long.
 * The handler's own freshness can shorten the configured TTL, never lengthen it.
 */
export function judgeResponse(status: number, headers: OutgoingHttpHeaders, policy: ResolvedPolicy, now: number): Verdict {
  const vary = withEncoding(parseVary(headers['vary']), headers);
  const personal = personalReason(headers);
  if (personal) return { store: false, share: false, reason: personal, vary };
  // A part of the body answers one Range request; a plain request must never get it, nor join the request for it.
  if (status === 206) return { store: false, share: false, reason: 'partial content', vary };
  // A stream of events is one subscriber's: it may never end, and others must not wait for it.
  if (isEventStream(headers)) return { store: false, share: false, reason: 'text/event-stream', vary };
  const cc = parseCacheControl(headers['cache-control']);
  if (vary.includes('*')) return { store: false, share: false, reason: 'vary: *', vary };
  if (!policy.statuses.has(status)) return { store: false, share: true, reason: `status ${status}`, vary };
  const freshMs = Math.min(policy.ttlMs, ownLifetimeMs(cc, headers, now));
  if (!(freshMs > 0)) return { store: false, share: true, reason: 'no freshness left', vary };
  return {
    store: true,
    share: true,
    freshMs,
    staleWhileRevalidateMs: secondsDirective(cc, 'stale-while-revalidate') ?? policy.staleWhileRevalidateMs,
    staleIfErrorMs: secondsDirective(cc, 'stale-if-error') ?? policy.staleIfErrorMs,
    vary,
  };
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

function ownLifetimeMs(cc: Directives, headers: OutgoingHttpHeaders, now: number): number {
  const shared = secondsDirective(cc, 's-maxage') ?? secondsDirective(cc, 'max-age');
  if (shared !== undefined) return shared;
  const expires = headers['expires'];
  if (expires === undefined) return Infinity;
  const at = Date.parse(String(expires));
  // RFC 9111 §5.3: an Expires that does not parse means "already expired".
  if (Number.isNaN(at)) return 0;
  const date = headers['date'] !== undefined ? Date.parse(String(headers['date'])) : NaN;
  return Math.max(0, at - (Number.isNaN(date) ? now : date));
}

function secondsDirective(cc: Directives, name: string): number | undefined {
  const value = cc.get(name);
  if (typeof value !== 'string' || !/^\d+$/.test(value)) return undefined;
  return Number(value) * 1000;
}
