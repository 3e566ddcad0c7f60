import type { Request } from 'express';
import { digest, type KeySpace } from '../stores/key-space.js';

/**
 * The text a response is cached under: protocol, host, path and query with its parameters in a stable sorted order
 * (duplicates keep their relative order, since `?a=1&a=2` and `?a=2&a=1` can mean different things).
 */
export function canonicalUrl(req: Request): string {
  const url = req.originalUrl || req.url;
  const q = url.indexOf('?');
  // req.host honours `trust proxy` (X-Forwarded-Host).
  return canonicalText(req.protocol, req.host ?? '', q === -1 ? url : url.slice(0, q), q === -1 ? '' : url.slice(q + 1));
}

/** The same text `canonicalUrl(req)` makes for a request to an absolute URL (for `invalidate({ keys })`). */
export function canonicalUrlOf(url: string): string | undefined {
  const match = /^(https?):\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?/i.exec(url);
  if (!match) return undefined;
  const [, protocol = '', host = '', path = '', query = ''] = match;
  return canonicalText(protocol.toLowerCase(), host, path || '/', query);
}

/** Host names are case-insensitive: lower-cased. */
function canonicalText(protocol: string, host: string, path: string, query: string): string {
  const sorted = sortQuery(query);
  return `${protocol}://${host.toLowerCase()}${path}${sorted ? `?${sorted}` : ''}`;
}

/** Sorts `a=1&b=2` pairs by name, stably; empty pieces (`a=1&&b=2`) are dropped. */
export function sortQuery(query: string): string {
  if (query === '') return '';
  const pairs = query.split('&').filter((pair) => pair !== '');
  if (pairs.length < 2) return pairs.join('&');
  const named = pairs.map((pair) => {
    const eq = pair.indexOf('=');
    return { name: eq === -1 ? pair : pair.slice(0, eq), pair };
  });
  // Array.prototype.sort is stable, so duplicates keep their order.
  named.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
  return named.map((n) => n.pair).join('&');
}

/** A request's base digest and the Redis key of its response. */
export interface RequestKey {
  readonly digest: string;
  readonly key: string;
}

/**
 * Remembers the digest and key of recently seen request texts: a hit then costs a map lookup instead of a SHA-256
 * and two string joins. Bounded; when full it starts over, which costs only the hashing it would have done anyway.
 */
export class RequestKeys {
  readonly #keys: KeySpace;
  readonly #seen = new Map<string, RequestKey>();
  readonly #maxSize: number;

  constructor(keys: KeySpace, maxSize = 2048) {
    this.#keys = keys;
    this.#maxSize = maxSize;
  }

  of(text: string): RequestKey {
    let known = this.#seen.get(text);
    if (known === undefined) {
      const base = digest(text);
      known = { digest: base, key: this.#keys.response(base) };
      if (this.#seen.size >= this.#maxSize) this.#seen.clear();
      this.#seen.set(text, known);
    }
    return known;
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
