import { performance } from 'node:perf_hooks';
import type { Cluster, Redis } from 'ioredis';
import { describeError, log } from '../observe/debug.js';
import { isCluster, type RedisLike } from './redis-client.js';

/** What one instance tells the others about an invalidation, for the entries only its own memory holds. */
export interface PublishedInvalidation {
  readonly from: string;
  readonly keys: readonly string[];
  readonly tagKeys: readonly string[];
  readonly names: readonly string[];
  /** Redis refused to apply it (a READONLY replica): receivers must not trust what Redis returns for these keys. */
  readonly refused: boolean;
}

export interface NearCacheOptions {
  /** Key prefixes whose changes are tracked: responses and values. */
  readonly prefixes: readonly string[];
  /** The channel instances publish invalidations on (for entries Redis would not take). */
  readonly channel: string;
  /** This instance, so it can skip what it published itself. */
  readonly instance: string;
  /** Keys some client changed in Redis (null: everything, a FLUSHALL). */
  readonly onKeys: (keys: readonly string[] | null) => void;
  /** Another instance invalidated these. */
  readonly onPublished: (message: PublishedInvalidation) => void;
  /** Tracking stopped (a connection went, a ping went unanswered in time): no copy can be trusted any more. */
  readonly onLost: () => void;
}

/** A fetch or store of a key under way: its result may be kept only if nothing changed the key meanwhile. */
export interface Ticket {
  readonly key: string;
  readonly generation: number;
  changed: boolean;
}

/** How often each subscriber is pinged (one ping outstanding at a time). */
const PING_EVERY_MS = 250;
/**
 * Copies are served only while every subscriber has answered a ping sent within this long: a reply proves that every
 * invalidation Redis sent before it has been read. Past it (Redis frozen, say) messages may be sitting unread, so every
 * copy goes at once. Kept under the 1 s an invalidation waits for Redis before it is queued: when Redis freezes as one
 * instance invalidates, the others have dropped their copies before its `invalidate()` resolves.
 */
export const NEAR_CACHE_LEASE_MS = 750;
const INVALIDATE_CHANNEL = '__redis__:invalidate';

/**
 * Keeps the memory copies of Redis entries coherent across instances with Redis's own invalidation messages
 * (server-assisted client-side caching, Redis >= 6): `CLIENT TRACKING on BCAST PREFIX … NOLOOP REDIRECT <id>` on each
 * connection commands go through (one per master on a Cluster), with the messages redirected to a subscriber
 * connection of ours on `__redis__:invalidate`. BCAST reports every change of a key under the prefixes by anyone:
 * writes, deletes, invalidations, expiry and eviction; NOLOOP leaves out this instance's own, which it applies itself.
 *
 * `live` is true only while every tracked connection and its subscriber are up, tracking is on, and every subscriber
 * answered a ping within the lease (NEAR_CACHE_LEASE_MS). Whenever that stops, `onLost` tells the owner to drop its
 * copies, and nothing is kept again until tracking is back: there is no window in which a missed message can leave a
 * stale copy. A reply and an invalidation travel on different connections, so a
 * key's fetch or store takes a `Ticket` first; a change reported while it is under way means its result is not kept.
 */
export class NearCache {
  readonly #client: RedisLike;
  readonly #options: NearCacheOptions;
  readonly #trackers = new Map<Redis, Tracker>();
  readonly #tickets = new Map<string, Set<Ticket>>();
  readonly #detach: Array<() => void> = [];
  #live = false;
  #generation = 0;
  /** When (performance.now()) the oldest confirmation among the trackers stops covering the copies. */
  #leaseEndsAt = Number.NEGATIVE_INFINITY;
  #closed = false;
  readonly #pinger: NodeJS.Timeout;

  constructor(client: RedisLike, options: NearCacheOptions) {
    this.#client = client;
    this.#options = options;
    const masters = () => this.#masters();
    client.on('ready', masters);
    this.#detach.push(() => client.off('ready', masters));
    if (isCluster(client)) {
      // Masters come and go with failovers and resharding: track the set there is now.
      client.on('+node', masters);
      client.on('-node', masters);
      this.#detach.push(() => {
        client.off('+node', masters);
        client.off('-node', masters);
      });
    }
    if (client.status === 'ready') this.#masters();
    this.#pinger = setInterval(() => this.#ping(), PING_EVERY_MS).unref();
  }

  /**
   * True while every change under the prefixes is being reported: copies may be served and kept. Reading it past the
   * lease drops the copies first, so no path that reads memory after asking (a failed Redis read, say) finds one.
   */
  get live(): boolean {
    this.#endLapsedLease();
    return this.#live;
  }

  /** Takes a ticket before fetching or storing `key`; `keep(ticket)` says whether the result may be kept. */
  ticket(key: string): Ticket {
    const ticket: Ticket = { key, generation: this.#generation, changed: false };
    let set = this.#tickets.get(key);
    if (!set) this.#tickets.set(key, (set = new Set()));
    set.add(ticket);
    return ticket;
  }

  /** Ends a ticket: true when tracking stayed live throughout and nobody changed the key meanwhile. */
  keep(ticket: Ticket): boolean {
    const set = this.#tickets.get(ticket.key);
    set?.delete(ticket);
    if (set?.size === 0) this.#tickets.delete(ticket.key);
    return this.live && !ticket.changed && ticket.generation === this.#generation;
  }

  /** Marks fetches and stores of these keys under way as overtaken: their results are not kept. */
  changed(keys: readonly string[]): void {
    for (const key of keys) for (const ticket of this.#tickets.get(key) ?? []) ticket.changed = true;
  }

  /** Tells the other instances about an invalidation, for the entries that live only in their memory. */
  async publish(message: Omit<PublishedInvalidation, 'from'>): Promise<void> {
    if (message.keys.length + message.tagKeys.length + message.names.length === 0) return;
    await this.#client.publish(this.#options.channel, JSON.stringify({ ...message, from: this.#options.instance }));
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#pinger);
    for (const undo of this.#detach) undo();
    for (const tracker of this.#trackers.values()) tracker.close();
    this.#trackers.clear();
    this.#setLive(false);
  }

  /** Follows the masters there are now: one tracker each (a standalone server is its own only master). */
  #masters(): void {
    if (this.#closed) return;
    const masters = isCluster(this.#client) ? (this.#client as Cluster).nodes('master') : [this.#client as Redis];
    for (const [node, tracker] of this.#trackers) {
      if (masters.includes(node)) continue;
      tracker.close();
      this.#trackers.delete(node);
    }
    for (const node of masters) {
      if (this.#trackers.has(node)) continue;
      this.#trackers.set(node, new Tracker(node, this.#options.prefixes, this.#options.channel, {
        message: (channel, message) => this.#message(channel, message),
        changed: () => this.#update(),
        lost: (why) => this.#lose(why),
      }));
    }
    this.#update();
  }

  /** Live once every master's tracker reports and has answered within the lease; a loss on any drops every copy first. */
  #update(): void {
    const all = [...this.#trackers.values()];
    // Every tracker's confirmation changes only just before an update, so the lease's end is worked out here, once,
    // and a lookup compares one number.
    this.#leaseEndsAt = Math.min(...all.map((tracker) => tracker.confirmedAt)) + NEAR_CACHE_LEASE_MS;
    this.#setLive(all.length > 0 && all.every((tracker) => tracker.tracking) && this.#leaseHeld());
  }

  #endLapsedLease(): void {
    if (this.#live && !this.#leaseHeld()) this.#lose(`an invalidation subscriber answered no ping for ${NEAR_CACHE_LEASE_MS} ms`);
  }

  #leaseHeld(): boolean {
    return performance.now() <= this.#leaseEndsAt;
  }

  #message(channel: string, message: unknown): void {
    if (channel === INVALIDATE_CHANNEL) {
      const keys = Array.isArray(message) ? message.map(String) : null;
      for (const key of keys ?? this.#tickets.keys()) for (const ticket of this.#tickets.get(key) ?? []) ticket.changed = true;
      this.#options.onKeys(keys);
      return;
    }
    if (channel !== this.#options.channel) return;
    try {
      const published = JSON.parse(String(message)) as PublishedInvalidation;
      if (published.from === this.#options.instance) return;
      this.#options.onPublished(published);
    } catch {
      // Not one of ours: ignored.
    }
  }

  /** Renews the lease (and goes live again once every subscriber answers); a silent subscriber costs every copy. */
  #ping(): void {
    if (this.#closed) return;
    for (const tracker of this.#trackers.values()) {
      if (tracker.tracking) void tracker.ping().then(() => this.#update());
    }
    this.#endLapsedLease();
  }

  #lose(why: string): void {
    this.#generation++;
    if (this.#live && log.redis.enabled) log.redis('near-cache off: %s', why);
    this.#setLive(false);
    this.#update();
  }

  #setLive(live: boolean): void {
    if (this.#live === live) return;
    this.#live = live;
    if (!live) this.#options.onLost();
    else if (log.redis.enabled) log.redis('near-cache on: every change under %s is reported', this.#options.prefixes.join(', '));
  }
}

interface TrackerEvents {
  message(channel: string, message: unknown): void;
  /** Tracking came on (or went off without a loss to report). */
  changed(): void;
  /** A connection went, or tracking failed: every copy must go. */
  lost(why: string): void;
}

/**
 * Tracking on one master: a subscriber connection of ours on it, and `CLIENT TRACKING` on the connection our commands
 * to it use, redirected to the subscriber. Set up again whenever either connection comes back.
 */
class Tracker {
  readonly #node: Redis;
  readonly #subscriber: Redis;
  readonly #prefixes: readonly string[];
  readonly #channel: string;
  readonly #events: TrackerEvents;
  readonly #detach: () => void;
  #subscriberId: number | undefined;
  #tracking = false;
  #closed = false;
  #pinging = false;
  #confirmedAt = Number.NEGATIVE_INFINITY;
  /** The last switch-on under way: each waits for the one before (see #enable). */
  #enabling: Promise<void> = Promise.resolve();

  constructor(node: Redis, prefixes: readonly string[], channel: string, events: TrackerEvents) {
    this.#node = node;
    this.#prefixes = prefixes;
    this.#channel = channel;
    this.#events = events;
    // RESP2, so invalidations arrive as messages on a channel (ioredis does not surface RESP3 'invalidate' pushes).
    // No resubscribe of its own: each (re)connection gets its new client id first, then subscribes (see #subscribe).
    this.#subscriber = node.duplicate({
      protocol: 2, autoResubscribe: false, enableOfflineQueue: true, lazyConnect: true, connectionName: 'erc-near-cache',
    });
    this.#subscriber.on('error', (error: unknown) => {
      if (log.redis.enabled) log.redis('near-cache subscriber: %s', describeError(error));
    });
    this.#subscriber.on('messageBuffer', (channelName: Buffer, message: unknown) => events.message(String(channelName), message));
    this.#subscriber.on('ready', () => void this.#subscribe());
    this.#subscriber.on('close', () => this.#lost('an invalidation subscriber closed'));
    const nodeReady = () => void this.#enable();
    const nodeClosed = () => this.#lost('a command connection closed');
    node.on('ready', nodeReady);
    node.on('close', nodeClosed);
    this.#detach = () => {
      node.off('ready', nodeReady);
      node.off('close', nodeClosed);
    };
    this.#subscriber.connect().catch(() => undefined);
    // A Cluster connects to a master only when a command is first sent there: until then its changes would go
    // unreported, and the near-cache would stay off however long the app runs before traffic reaches every master.
    if (node.status === 'wait') node.connect().catch(() => undefined);
  }

  get tracking(): boolean {
    return this.#tracking;
  }

  /** When (performance.now()) Redis was last known to have sent this subscriber everything it had for it. */
  get confirmedAt(): number {
    return this.#confirmedAt;
  }

  /** Pings the subscriber unless a ping is outstanding; its reply comes after every message sent before it. */
  async ping(): Promise<void> {
    if (this.#pinging) return;
    this.#pinging = true;
    const sentAt = performance.now();
    try {
      await this.#subscriber.ping();
      this.#confirmedAt = Math.max(this.#confirmedAt, sentAt);
    } catch {
      // The connection went: its 'close' reports the loss.
    } finally {
      this.#pinging = false;
    }
  }

  close(): void {
    this.#closed = true;
    this.#tracking = false;
    this.#detach();
    this.#subscriber.disconnect();
  }

  async #subscribe(): Promise<void> {
    try {
      this.#subscriberId = Number(await this.#subscriber.client('ID'));
      await this.#subscriber.subscribe(INVALIDATE_CHANNEL, this.#channel);
      await this.#enable();
    } catch (error) {
      this.#lost(`the invalidation subscriber could not subscribe: ${describeError(error)}`);
    }
  }

  /**
   * One switch-on at a time: the command connection's 'ready' and the subscription both ask for one, often together,
   * and two interleaved (off, off, on, on) would fail the second `on` (its prefixes overlap the first's).
   */
  #enable(): Promise<void> {
    this.#enabling = this.#enabling.then(() => this.#switchOn());
    return this.#enabling;
  }

  /** Tracking on the command connection, redirected to the subscriber; off first, so switching it on never fails. */
  async #switchOn(): Promise<void> {
    const id = this.#subscriberId;
    if (this.#closed || id === undefined || this.#subscriber.status !== 'ready' || this.#node.status !== 'ready') return;
    try {
      await this.#node.call('CLIENT', 'TRACKING', 'off');
      const prefixes = this.#prefixes.flatMap((prefix) => ['PREFIX', prefix]);
      await this.#node.call('CLIENT', 'TRACKING', 'on', 'REDIRECT', String(id), 'BCAST', ...prefixes, 'NOLOOP');
      if (this.#closed || id !== this.#subscriberId) return;
      // Both connections just answered, and tracking starts with nothing unread.
      this.#confirmedAt = performance.now();
      this.#tracking = true;
      this.#events.changed();
    } catch (error) {
      this.#lost(`CLIENT TRACKING failed (Redis 6 or later is needed): ${describeError(error)}`);
    }
  }

  #lost(why: string): void {
    const was = this.#tracking;
    this.#tracking = false;
    if (was || !this.#closed) this.#events.lost(why);
  }
}
