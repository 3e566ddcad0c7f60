import type { Clock } from '../clock.js';
import { entryExpiresAt, type Entry } from '../entry/entry.js';
import { log } from '../observe/debug.js';
import type { MemoryStore } from './memory-store.js';
import type { NearCache, PublishedInvalidation, Ticket } from './near-cache.js';

/** Entries Redis refused without a live near-cache (nobody else would hear of their invalidation) live this long. */
export const UNSHARED_REFUSED_MS = 5_000;

/** Which sets an entry belongs to, for removing its memory copy by tag. */
export type TagKeysOf = (entry: Entry) => readonly string[];

/**
 * What the memory tier holds while Redis serves: near-cache copies of Redis entries (kept only while the near-cache
 * is live, dropped the moment any instance changes the key), and entries Redis refused to store (OOM, a READONLY
 * replica), which only this instance holds: an invalidation anywhere is published to every instance, so they go too.
 * Keys whose invalidation Redis refused (a READONLY replica) are tombstoned: Redis still has them, so a lookup must
 * not trust what it returns for them until they would have expired.
 */
export class MemoryCopies {
  readonly #memory: MemoryStore;
  readonly #near: NearCache | undefined;
  readonly #clock: Clock;
  readonly #tagKeysOf: TagKeysOf;
  /** Keys of entries Redis refused, held here only. */
  readonly #local = new Set<string>();
  /** Keys Redis could not invalidate, until when they could still be there. */
  readonly #tombstones = new Map<string, number>();

  constructor(memory: MemoryStore, near: NearCache | undefined, clock: Clock, tagKeysOf: TagKeysOf) {
    this.#memory = memory;
    this.#near = near;
    this.#clock = clock;
    this.#tagKeysOf = tagKeysOf;
  }

  /** True while copies may be served and kept: every change in Redis is being reported to this instance. */
  get live(): boolean {
    return this.#near?.live === true;
  }

  /** A copy or a refused entry for `key`, answered without Redis; undefined when Redis must be asked. */
  peek(key: string): Entry | undefined {
    if (!this.live && this.#local.size === 0) return undefined;
    const entry = this.#memory.peek(key);
    if (entry === undefined && this.#local.has(key)) this.#local.delete(key);
    return entry;
  }

  /** Before fetching or storing `key` in Redis: a ticket, when a copy of the result could be kept. */
  ticket(key: string): Ticket | undefined {
    return this.#near?.live ? this.#near.ticket(key) : undefined;
  }

  /** After the fetch or store: keeps a copy of `entry` if tracking stayed live and nobody changed the key. */
  keep(ticket: Ticket | undefined, key: string, entry: Entry | undefined): void {
    if (!ticket || !this.#near) return;
    if (this.#near.keep(ticket) && entry) this.#put(key, entry, entryExpiresAt(entry) - this.#clock.now());
  }

  /** Redis refused to store `entry`: this instance keeps it, briefly unless invalidations can reach it. */
  keepRefused(key: string, entry: Entry): void {
    const lifetime = entryExpiresAt(entry) - this.#clock.now();
    // Evicted entries leave their keys behind here; sweep them now and then so the set stays as small as memory.
    if (this.#local.size > 2 * this.#memory.size + 1000) for (const old of this.#local) if (!this.#memory.has(old)) this.#local.delete(old);
    this.#local.add(key);
    this.#put(key, entry, this.live ? lifetime : Math.min(lifetime, UNSHARED_REFUSED_MS));
  }

  /** Redis takes writes again: the entries it refused go, so the next fill stores them there, for every instance. */
  dropRefused(): void {
    this.#memory.delete([...this.#local]);
    this.#local.clear();
  }

  /** True when a key's invalidation did not reach Redis and it may still be there. */
  tombstoned(key: string): boolean {
    if (this.#tombstones.size === 0) return false;
    const until = this.#tombstones.get(key);
    if (until === undefined) return false;
    if (until > this.#clock.now()) return true;
    this.#tombstones.delete(key);
    return false;
  }

  /** Redis could not apply an invalidation of these keys: treat them as gone until `until` (their expiry). */
  tombstone(keys: readonly string[], until: (key: string) => number): void {
    for (const key of keys) this.#tombstones.set(key, until(key));
  }

  /**
   * Applies an invalidation to memory; resolves to how many entries only this instance held (copies of Redis
   * entries are counted where they live, in Redis).
   */
  forget(keys: readonly string[], tagKeys: readonly string[], names: readonly string[]): number {
    let local = 0;
    for (const key of [...this.#memory.delete(keys), ...this.#memory.deleteTagged(tagKeys), ...this.#memory.deleteNamed(names)]) {
      if (this.#local.delete(key)) local++;
    }
    return local;
  }

  /**
   * After this instance removed keys from Redis: drops any copy kept meanwhile, and stops copies of fetches still
   * under way. Redis reports other clients' changes, never this instance's own (NOLOOP).
   */
  forgotten(keys: readonly string[]): void {
    if (keys.length === 0) return;
    this.#memory.delete(keys);
    this.#near?.changed(keys);
  }

  /** Tells the other instances, for the refused entries only they hold. */
  publish(keys: readonly string[], tagKeys: readonly string[], names: readonly string[], refused: boolean): Promise<void> {
    return this.#near?.publish({ keys, tagKeys, names, refused }) ?? Promise.resolve();
  }

  /** Keys some client changed in Redis (null: all of them). */
  changed(keys: readonly string[] | null): void {
    if (keys === null) return this.drop();
    this.#memory.delete(keys);
  }

  /** Another instance invalidated these; it could not apply them to Redis when `refused`. */
  published(message: PublishedInvalidation, tombstoneFor: (keys: readonly string[]) => void): void {
    this.forget(message.keys, message.tagKeys, message.names);
    if (message.refused) tombstoneFor(message.keys);
  }

  /** Stops tracking and closes its connections. */
  close(): void {
    this.#near?.close();
  }

  /** Every copy and refused entry goes: tracking stopped, so none of them can be trusted. */
  drop(): void {
    if (log.redis.enabled && this.#memory.size > 0) log.redis('dropping %d memory copies of Redis entries', this.#memory.size);
    this.#memory.clear();
    this.#local.clear();
  }

  #put(key: string, entry: Entry, ttlMs: number): void {
    this.#memory.put(key, entry, ttlMs, entry.kind === 'vary' ? [] : this.#tagKeysOf(entry));
  }
}
