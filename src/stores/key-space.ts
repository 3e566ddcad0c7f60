import { hash } from 'node:crypto';

/** Fixed-length digest, so no request text (paths, user ids) ever becomes part of a Redis key name. */
export function digest(text: string): string {
  return hash('sha256', text, 'base64url');
}

/** Names remembered by `KeySpace.name`: one per route or getOrSet name, so a small bound is plenty. */
const MAX_REMEMBERED_NAMES = 10_000;

/**
 * Every Redis key the package writes, in one place. Entry keys carry their digest in a hash tag (`{…}`) so that an
 * entry and the keys guarding it land in the same Redis Cluster slot.
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
    // Every store asks for its name's key: remember the digests.
    let key = this.#nameKeys.get(name);
    if (key === undefined) {
      key = `${this.prefix}t:{${digest(`name\n${name}`)}}`;
      if (this.#nameKeys.size < MAX_REMEMBERED_NAMES) this.#nameKeys.set(name, key);
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

  /** The pub/sub channel instances tell each other about invalidations on. */
  invalidations(): string {
    return `${this.prefix}invalidations`;
  }

  /** The key written now and then while Redis refuses writes, to learn when it takes them again. */
  writeProbe(instanceId: string): string {
    return `${this.prefix}write-probe:${instanceId}`;
  }

  /** The key the health check writes, reads and deletes. */
  healthProbe(instanceId: string): string {
    return `${this.prefix}health:${instanceId}`;
  }
}
