import { decodeEntry, encodeEntry, EntryDecodeError, type Entry } from '../entry/entry.js';
import { describeError, log } from '../observe/debug.js';
import { isCluster, type RedisLike } from './redis-client.js';
import { addToTag, storeTagged, storeWithDeadline } from './scripts.js';

/**
 * A clock reading is off by up to half its round trip. One slower than this, or than the write timeout (an event-loop
 * stall while the reply waited, say), is thrown away: trusting it could put every write's deadline in the server's
 * past. Within it, a write is only dropped if it took over half the write timeout to reach Redis.
 */
const MAX_CLOCK_ROUND_TRIP_MS = 250;
const CLOCK_ATTEMPTS = 3;
const CLOCK_RETRY_MS = 1000;

/**
 * The Redis tier. Every command names one key, so the same code runs on a single server and on a Cluster;
 * on a single server related commands go out in one pipeline.
 */
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

export class RedisStore {
  readonly client: RedisLike;
  readonly #writeTimeoutMs: number;
  readonly #maxClockRoundTripMs: number;
  /** Server clock minus ours, measured on connect, so write deadlines are judged in the server's time. */
  #clockOffsetMs = 0;

  readonly #onReady = () => void this.#measureClock();
  readonly #decoded = new DecodedEntries();

  constructor(client: RedisLike, { writeTimeoutMs }: { writeTimeoutMs: number }) {
    this.client = client;
    this.#writeTimeoutMs = writeTimeoutMs;
    this.#maxClockRoundTripMs = Math.min(MAX_CLOCK_ROUND_TRIP_MS, writeTimeoutMs);
    client.on('ready', this.#onReady);
    if (client.status === 'ready') void this.#measureClock();
  }

  /** Takes our listeners off the client: it may be the user's, and outlive this cache. */
  detach(): void {
    this.client.off('ready', this.#onReady);
  }

  async get(key: string): Promise<Entry | undefined> {
    const bytes = await this.client.getBuffer(key);
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
      await storeTagged.run(this.client, [key, ...tagKeys], [bytes, ttl, deadline]);
      return;
    }
    const writes: Promise<unknown>[] = [storeWithDeadline.run(this.client, [key], [bytes, ttl, deadline])];
    for (const tagKey of tagKeys) writes.push(addToTag.run(this.client, [tagKey], [key, ttl]));
    await Promise.all(writes);
  }

  async delete(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return 0;
    const counts = await Promise.all(keys.map((key) => this.client.unlink(key)));
    return counts.reduce((sum, n) => sum + n, 0);
  }

  /** Walks each tag set in pages (ZSCAN), so a tag on a million entries never blocks Redis with one huge reply. */
  async deleteTagged(tagKeys: readonly string[]): Promise<number> {
    let removed = 0;
    for (const tagKey of tagKeys) {
      let cursor = '0';
      do {
        const [next, page] = await this.client.zscan(tagKey, cursor, 'COUNT', TAG_PAGE);
        // ZSCAN pages alternate member and score.
        removed += await this.delete(page.filter((_, i) => i % 2 === 0));
        cursor = next;
      } while (cursor !== '0');
      await this.client.unlink(tagKey);
    }
    return removed;
  }

  get cluster(): boolean {
    return isCluster(this.client);
  }

  async #measureClock(attempt = 1): Promise<void> {
    try {
      const before = Date.now();
      const [seconds, micros] = (await this.client.time()) as [string | number, string | number];
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
