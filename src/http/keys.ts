import { unescape } from 'node:querystring';
import type { Request } from 'express';
import { digest, type KeySpace } from '../stores/key-space.js';

// What a request's entry is keyed by: its protocol, host, path and query, each as the app will read it, so that two
// requests share an entry only when the app would parse them alike. The parts are joined with a character none of
// them can hold (a newline), so no part can spill into another.

/**
 * RFC 3986 host (IP-literal, IPv4 or reg-name) with an optional port. Anything else in `Host` or a trusted
 * `X-Forwarded-Host` (a `/`, a `\`, a space, `@`) is not a host, and such a request is never keyed.
 */
const HOST = /^(?:\[(?:[0-9A-Fa-f:.]+|v[0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+)\]|(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*)(?::[0-9]*)?$/;

/**
 * The host the app sees, read from the request's own headers the same way on every Express version: the first
 * `X-Forwarded-Host` when `trust proxy` trusts the peer, else `Host`. Kept as sent (not lower-cased): the app may tell
 * `EXAMPLE.TEST` from `example.test`, so the cache must not merge them.
 */
export function requestHost(req: Request): string {
  const forwarded = req.headers['x-forwarded-host'];
  if (typeof forwarded === 'string' && forwarded !== '') {
    const trust = req.app?.get('trust proxy fn') as ((address: string | undefined, hop: number) => boolean) | undefined;
    if (typeof trust === 'function' && trust(req.socket?.remoteAddress, 0)) {
      const comma = forwarded.indexOf(',');
      return (comma === -1 ? forwarded : forwarded.slice(0, comma)).trim();
    }
  }
  return req.headers.host ?? '';
}

/**
 * The canonical text of a URL's parts, or undefined when they cannot be keyed (the host is not a host, the protocol
 * neither http nor https). `target` is the path and query as sent.
 */
export function canonicalText(protocol: string, host: string, target: string): string | undefined {
  if ((protocol !== 'http' && protocol !== 'https') || !HOST.test(host)) return undefined;
  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);
  const query = q === -1 ? '' : canonicalQuery(target.slice(q + 1));
  return `${protocol}\n${host}\n${path}\n${query}`;
}

/** The canonical text of an absolute URL, as a request for it would be keyed (for `invalidate({ keys })`). */
export function canonicalUrlOf(url: string): string | undefined {
  const match = /^(https?):\/\/([^/?#]*)([^#]*)/i.exec(url);
  if (!match) return undefined;
  const [, protocol = '', host = '', target = ''] = match;
  return canonicalText(protocol.toLowerCase(), host, target.startsWith('/') ? target : `/${target}`);
}

/**
 * The query as the app reads it: each name and value decoded as Express's parsers decode them (`+` is a space,
 * `%6c` is `l`), the pairs sorted stably by name (so repeated names keep their order, as `?a=1&a=2` and `?a=2&a=1` are
 * different lists), and written back one canonical way. Names sort by the part before any `[`, so `a`, `a[]` and
 * `a[x]` keep their relative order too: the extended parser (qs) builds one value from them.
 */
export function canonicalQuery(query: string): string {
  if (query === '') return '';
  const pairs: { readonly sortBy: string; readonly text: string }[] = [];
  for (const piece of query.split('&')) {
    if (piece === '') continue;
    const eq = piece.indexOf('=');
    const name = decode(eq === -1 ? piece : piece.slice(0, eq));
    const bracket = name.indexOf('[');
    const text = eq === -1 ? encode(name) : `${encode(name)}=${encode(decode(piece.slice(eq + 1)))}`;
    pairs.push({ sortBy: bracket === -1 ? name : name.slice(0, bracket), text });
  }
  // Array.prototype.sort is stable.
  pairs.sort((x, y) => (x.sortBy < y.sortBy ? -1 : x.sortBy > y.sortBy ? 1 : 0));
  return pairs.map((pair) => pair.text).join('&');
}

/** node:querystring's decoding: lenient, so a stray `%` stays as it is rather than failing. */
function decode(text: string): string {
  return unescape(text.includes('+') ? text.replace(/\+/g, ' ') : text);
}

function encode(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    // A lone surrogate has no UTF-8 form; the decoders above never make one, but a key must never throw.
    return encodeURIComponent(text.replace(/[\uD800-\uDFFF]/g, '\uFFFD'));
  }
}

/** A request's base digest and the Redis key of its response. */
export interface RequestKey {
  readonly digest: string;
  readonly key: string;
}

/**
 * The keys of requests, remembered by the raw text they were computed from: a hit then costs a map lookup instead of
 * parsing the query and a SHA-256. Bounded; when full it starts over, which costs only the work it would have done.
 */
export class RequestKeys {
  readonly #keys: KeySpace;
  readonly #seen = new Map<string, RequestKey | null>();
  readonly #maxSize: number;

  constructor(keys: KeySpace, maxSize = 2048) {
    this.#keys = keys;
    this.#maxSize = maxSize;
  }

  /** The key of a request for its URL, or undefined when it cannot be keyed (see `canonicalText`). */
  ofRequest(req: Request): RequestKey | undefined {
    const protocol = req.protocol;
    const host = requestHost(req);
    const target = req.originalUrl || req.url;
    const raw = `${protocol}\n${host}\n${target}`;
    let known = this.#seen.get(raw);
    if (known === undefined) {
      const text = canonicalText(protocol, host, target);
      known = text === undefined ? null : this.#make(text);
      this.#remember(raw, known);
    }
    return known ?? undefined;
  }

  /** The key a route's own `key(req)` names; in a namespace no URL can reach. */
  ofRouteKey(routeKey: string): RequestKey {
    const text = `key\n${routeKey}`;
    let known = this.#seen.get(text);
    if (!known) this.#remember(text, (known = this.#make(text)));
    return known;
  }

  /** The key of a URL's canonical text (from `canonicalText` or `canonicalUrlOf`). */
  ofCanonical(text: string): RequestKey {
    return this.#make(text);
  }

  #make(text: string): RequestKey {
    const base = digest(text);
    return { digest: base, key: this.#keys.response(base) };
  }

  #remember(raw: string, key: RequestKey | null): void {
    if (this.#seen.size >= this.#maxSize) this.#seen.clear();
    this.#seen.set(raw, key);
  }
}

/** The variant of a base key selected by the request headers a response's `Vary` names. */
export function variantDigest(baseDigest: string, fields: readonly string[], req: Request): string {
  let text = baseDigest;
  for (const field of fields) {
    const value = req.headers[field];
    text += `\n${field}:${Array.isArray(value) ? value.join(',') : value ?? ''}`;
  }
  return digest(text);
}
