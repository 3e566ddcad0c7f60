import { decodeEntry, encodeEntry, EntryDecodeError } from '../entry/codec.js';
import type { Entry } from '../entry/entry.js';
import { describeError, log } from '../observe/debug.js';
import { NearCache, type NearCacheOptions } from './near-cache.js';
import { isCluster, type OwnedClient, type RedisLike } from './redis-client.js';
import { addToTag, applyCounterBatch, releaseLock, storeTagged, storeWithDeadline } from './scripts.js';

/**
 * A clock reading is off by up to half its round trip. One slower than this, or than the write timeout (an event-loop
 * stall while the reply waited, say), is thrown away: trusting it could put every write's deadline in the server's
 * past. Within it, a write is only dropped if it took over half the write timeout to reach Redis.
 */
const MAX_CLOCK_ROUND_TRIP_MS = 250;
const CLOCK_ATTEMPTS = 3;
const CLOCK_RETRY_MS = 1000;

/**
 * The entries most recently read from Redis, decoded, with the bytes they came from. Every hit still reads Redis
 * (which is what makes invalidation and refills on other instances visible at once); when the bytes that come back
 * are identical to the ones remembered, the decoded entry is reused instead of decoding headers and strings again.
 * Bounded by total bytes; when full it starts over.
 */
class DecodedEntries {
  readonly #entries = new Map<string, { readonly bytes: Buffer; readonly entry: Entry }>();
  #bytes = 0;

  get(key: string, bytes: Buffer): Entry | undefined {
    const known = this.#entries.get(key);
    return known && known.bytes.equals(bytes) ? known.entry : undefined;
  }

  set(key: string, bytes: Buffer, entry: Entry): void {
    if (bytes.length > DECODED_MAX_BYTES / 64) return;
    if (this.#bytes + bytes.length > DECODED_MAX_BYTES) {
      this.#entries.clear();
      this.#bytes = 0;
    }
    const previous = this.#entries.get(key);
    if (previous) this.#bytes -= previous.bytes.length;
    this.#entries.set(key, { bytes, entry });
    this.#bytes += bytes.length;
  }
}

/** Members read per ZSCAN page when invalidating a tag. */
const TAG_PAGE = 500;

/** Budget of DecodedEntries. */
const DECODED_MAX_BYTES = 4 * 1024 * 1024;

/**
 * The Redis tier, and the only code that talks to ioredis: entries, tag sets, the fill lock, shared counters, health
 * probes and INFO. Every command names one key, so the same code runs on a single server and on a Cluster; on a
 * single server an entry and its tag sets go out in one script. Deadlines, the breaker and error counting are the
 * caller's (TieredStore's): this class only sends commands and reads replies.
 */
export class RedisStore {
  readonly #client: RedisLike;
  /** True when the package created the client and so must close it. */
  readonly #owned: boolean;
  readonly #writeTimeoutMs: number;
  readonly #maxClockRoundTripMs: number;
  /** Server clock minus ours, measured on connect, so write deadlines are judged in the server's time. */
  #clockOffsetMs = 0;
  readonly #onReady = () => void this.#measureClock();
  readonly #decoded = new DecodedEntries();

  constructor({ client, owned }: OwnedClient, { writeTimeoutMs }: { writeTimeoutMs: number }) {
    this.#client = client;
    this.#owned = owned;
    this.#writeTimeoutMs = writeTimeoutMs;
    this.#maxClockRoundTripMs = Math.min(MAX_CLOCK_ROUND_TRIP_MS, writeTimeoutMs);
    client.on('ready', this.#onReady);
    if (client.status === 'ready') void this.#measureClock();
  }

  /** The connection is up and has answered: commands can be sent. */
  get ready(): boolean {
    return this.#client.status === 'ready';
  }

  get cluster(): boolean {
    return isCluster(this.#client);
  }

  /** Calls `ready` each time the connection is (re)established and `close` each time it goes; returns the undo. */
  watchConnection(listeners: { ready: () => void; close: () => void }): () => void {
    this.#client.on('ready', listeners.ready);
    this.#client.on('close', listeners.close);
    return () => {
      this.#client.off('ready', listeners.ready);
      this.#client.off('close', listeners.close);
    };
  }

  /**
   * Takes our listeners off the client (it may be the user's, and outlive this cache) and, if the package created
   * it, closes it.
   */
  async close(): Promise<void> {
    this.#client.off('ready', this.#onReady);
    if (!this.#owned) return;
    // quit() waits for Redis to say goodbye: only worth it on a live connection. Otherwise (never connected, or
    // reconnecting) disconnect at once, so close() neither waits on timers nor keeps the process alive.
    if (this.ready) await this.#client.quit().catch(() => this.#client.disconnect());
    else this.#client.disconnect();
  }

  async get(key: string): Promise<Entry | undefined> {
    const bytes = await this.#client.getBuffer(key);
    if (bytes === null) return undefined;
    const known = this.#decoded.get(key, bytes);
    if (known) return known;
    try {
      const entry = decodeEntry(bytes);
      this.#decoded.set(key, bytes, entry);
      return entry;
    } catch (error) {
      if (!(error instanceof EntryDecodeError)) throw error;
      if (log.redis.enabled) log.redis('entry did not decode (%s); treating as a miss', error.message);
      return undefined;
    }
  }

  async set(key: string, entry: Entry, ttlMs: number, tagKeys: readonly string[]): Promise<void> {
    const ttl = Math.ceil(ttlMs);
    if (ttl <= 0) return;
    // The moment the caller gives up on this write, in server time, and no later: past it the caller has moved on,
    // and another instance may already have invalidated the entry in Redis.
    const deadline = Date.now() + this.#clockOffsetMs + this.#writeTimeoutMs;
    const bytes = encodeEntry(entry);
    if (!this.cluster) {
      // One round trip: the entry and its tag sets in one script (a single server allows keys from any slot).
      await storeTagged.run(this.#client, [key, ...tagKeys], [bytes, ttl, deadline]);
      return;
    }
    const writes: Promise<unknown>[] = [storeWithDeadline.run(this.#client, [key], [bytes, ttl, deadline])];
    for (const tagKey of tagKeys) writes.push(addToTag.run(this.#client, [tagKey], [key, ttl]));
    await Promise.all(writes);
  }

  async delete(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return 0;
    const counts = await Promise.all(keys.map((key) => this.#client.unlink(key)));
    return counts.reduce((sum, n) => sum + n, 0);
  }

  /**
   * Walks each tag set in pages (ZSCAN), so a tag on a million entries never blocks Redis with one huge reply.
   * Resolves to how many entries were removed and the keys it tried (members whose entry may have expired already).
   */
  async deleteTagged(tagKeys: readonly string[]): Promise<{ removed: number; keys: string[] }> {
    let removed = 0;
    const keys: string[] = [];
    for (const tagKey of tagKeys) {
      let cursor = '0';
      do {
        const [next, page] = await this.#client.zscan(tagKey, cursor, 'COUNT', TAG_PAGE);
        // ZSCAN pages alternate member and score.
        const members = page.filter((_, i) => i % 2 === 0);
        keys.push(...members);
        removed += await this.delete(members);
        cursor = next;
      } while (cursor !== '0');
      await this.#client.unlink(tagKey);
    }
    return { removed, keys };
  }

  /** Starts tracking changes under `options.prefixes` for near-cache copies (see NearCache). */
  nearCache(options: NearCacheOptions): NearCache {
    return new NearCache(this.#client, options);
  }

  /** The members of tag or name sets with their expiry (epoch ms in server time), read in pages. */
  async setMembers(setKeys: readonly string[]): Promise<Array<[string, number]>> {
    const members: Array<[string, number]> = [];
    for (const setKey of setKeys) {
      let cursor = '0';
      do {
        const [next, page] = await this.#client.zscan(setKey, cursor, 'COUNT', TAG_PAGE);
        for (let i = 0; i + 1 < page.length; i += 2) members.push([page[i] as string, Number(page[i + 1]) - this.#clockOffsetMs]);
        cursor = next;
      } while (cursor !== '0');
    }
    return members;
  }

  /** Milliseconds each key has left (0 when it has none or does not exist). */
  async ttls(keys: readonly string[]): Promise<Map<string, number>> {
    const left = await Promise.all(keys.map((key) => this.#client.pttl(key)));
    return new Map(keys.map((key, i) => [key, Math.max(0, left[i] ?? 0)]));
  }

  /** `SET NX PX`: true when this caller now holds the lock. */
  async takeLock(lockKey: string, token: string, ttlMs: number): Promise<boolean> {
    return (await this.#client.set(lockKey, token, 'PX', ttlMs, 'NX')) === 'OK';
  }

  async lockHeld(lockKey: string): Promise<boolean> {
    return (await this.#client.exists(lockKey)) === 1;
  }

  /** Compare-and-delete, so an instance whose lock expired cannot release another's. */
  async releaseLock(lockKey: string, token: string): Promise<void> {
    await releaseLock.run(this.#client, [lockKey], [token]);
  }

  /** Adds `fields` (name, increment pairs) to an hour's counters unless the batch marker says it was applied. */
  async addCounterBatch(hashKey: string, markerKey: string, ttlMs: number, fields: readonly (string | number)[]): Promise<void> {
    await applyCounterBatch.run(this.#client, [hashKey, markerKey], [ttlMs, ...fields]);
  }

  async readHashes(keys: readonly string[]): Promise<Record<string, string>[]> {
    return Promise.all(keys.map((key) => this.#client.hgetall(key)));
  }

  /** A small write that expires by itself, to learn whether Redis takes writes. */
  async writeProbe(key: string): Promise<void> {
    await this.#client.set(key, '1', 'PX', 1000);
  }

  async ping(): Promise<void> {
    await this.#client.ping();
  }

  /** Writes `token` under `key`, reads it back and deletes it: what the health check proves works. */
  async writeReadDelete(key: string, token: string): Promise<string | null> {
    await this.#client.set(key, token, 'PX', 10_000);
    const value = await this.#client.get(key);
    await this.#client.del(key);
    return value;
  }

  /** Redis's `INFO` text. */
  async info(): Promise<string> {
    return this.#client.info();
  }

  async #measureClock(attempt = 1): Promise<void> {
    try {
      const before = Date.now();
      const [seconds, micros] = (await this.#client.time()) as [string | number, string | number];
      const after = Date.now();
      if (after - before <= this.#maxClockRoundTripMs) {
        const serverNow = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
        this.#clockOffsetMs = serverNow - Math.round((before + after) / 2);
        return;
      }
      if (log.redis.enabled) log.redis('server clock read took %d ms; not trusted', after - before);
    } catch (error) {
      if (log.redis.enabled) log.redis('could not read the server clock: %s', describeError(error));
      return;
    }
    if (attempt < CLOCK_ATTEMPTS) setTimeout(() => void this.#measureClock(attempt + 1), CLOCK_RETRY_MS).unref();
  }
}
