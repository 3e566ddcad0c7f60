import { hash } from 'node:crypto';
import type { Request } from 'express';

/**
 * The text a response is cached under: protocol, host, path and query with its parameters in a stable sorted order
 * (duplicates keep their relative order, since `?a=1&a=2` and `?a=2&a=1` can mean different things).
 */
export function canonicalUrl(req: Request): string {
  const url = req.originalUrl || req.url;
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const query = q === -1 ? '' : sortQuery(url.slice(q + 1));
  // req.host honours `trust proxy` (X-Forwarded-Host); lower-cased because host names are case-insensitive.
  const host = (req.host ?? '').toLowerCase();
  return `${req.protocol}://${host}${path}${query ? `?${query}` : ''}`;
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

/** Fixed-length digest, so no request text (paths, user ids) ever becomes part of a Redis key name. */
export function digest(text: string): string {
  return hash('sha256', text, 'base64url');
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

/**
 * Every Redis key the package writes, in one place. Entry keys carry their digest in a hash tag
 * (`{…}`) so that an entry and the keys guarding it land in the same Redis Cluster slot.
 */
export class KeySpace {
  readonly prefix: string;
  readonly #nameKeys = new Map<string, string>();
  constructor(prefix: string) {
    this.prefix = prefix;
  }
  /** A cached HTTP response (or a Vary index) for a request digest. */
  response(requestDigest: string): string {
    return `${this.prefix}r:{${requestDigest}}`;
  }
  /** A `getOrSet` value: its own namespace, so a user's key can never collide with a response's. */
  value(userKey: string): string {
    return `${this.prefix}v:{${digest(userKey)}}`;
  }
  /** The set of entry keys carrying a tag. */
  tag(tag: string): string {
    return `${this.prefix}t:{${digest(`tag\n${tag}`)}}`;
  }
  /** The set of entry keys stored under a counter name; names are tags in a namespace of their own. */
  name(name: string): string {
    // Names are few (one per route or getOrSet name) and every store asks: remember their digests.
    let key = this.#nameKeys.get(name);
    if (key === undefined) {
      key = `${this.prefix}t:{${digest(`name\n${name}`)}}`;
      if (this.#nameKeys.size < 10_000) this.#nameKeys.set(name, key);
    }
    return key;
  }
  /** Cross-instance fill lock for an entry key. */
  lock(entryKey: string): string {
    return `${entryKey}:lock`;
  }
  /** All names' shared counters for one hour; hash-tagged so its batch markers share its Cluster slot. */
  counters(hour: number): string {
    return `${this.prefix}s:{${hour}}`;
  }
  /** Marks one batch as applied to an hour's counters, so a resent batch is not counted twice. */
  counterBatch(hour: number, batchId: string): string {
    return `${this.counters(hour)}:batch:${batchId}`;
  }
  /** The key the health check writes, reads and deletes. */
  healthProbe(instanceId: string): string {
    return `${this.prefix}health:${instanceId}`;
  }
}
