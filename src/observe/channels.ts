import { channel } from 'node:diagnostics_channel';
import type { Request } from 'express';
import type { TierName, TierState } from '../stores/tiered-store.js';

// What the cache does, on `node:diagnostics_channel`, for in-process subscribers (tracers, APM agents, tests). A
// channel without subscribers costs a property read: every publisher checks `hasSubscribers` before it builds a
// message. Messages hold outcomes, names and numbers, never request text, keys or bodies; `req` is the request object
// itself, which a tracer needs to find its span.

/** A channel whose messages have one shape (`node:diagnostics_channel`'s `Channel`, typed). */
export interface CacheChannel<Message> {
  readonly name: string | symbol;
  readonly hasSubscribers: boolean;
  publish(message: Message): void;
}

/**
 * Published on `express-resilient-cache:lookup` once the cache has decided what a GET or HEAD request gets: after its
 * lookup (`hit`, `stale`, `miss`), or without one (`bypass`: the request carried a cookie or credentials, its key could
 * not be made, or its route said `route(false)`). A request `app.use(cache)` handled and a route with its own key then
 * took over is looked up, and published, twice. Background refreshes are not looked up and not published here.
 */
export interface LookupMessage {
  readonly req: Request;
  readonly result: 'hit' | 'stale' | 'miss' | 'bypass';
  /** The tier that answered the lookup; undefined for a bypass. */
  readonly tier: TierName | undefined;
  /**
   * The name the request is counted under, when it is known yet: a hit's is the stored entry's, a miss's or bypass's
   * the route's under `cache.route(options)`. Undefined otherwise: under `app.use(cache)` no route has run yet
   * (`fill:end` names a miss once it has).
   */
  readonly name: string | undefined;
  /** Redis failed during the lookup and memory answered. */
  readonly failed: boolean;
}

/**
 * Published on `express-resilient-cache:fill:start` when a miss leads a fill: its handler is about to run and its
 * response is recorded. Requests that wait for another request's fill of the same key publish no fill of their own.
 */
export interface FillStartMessage {
  readonly req: Request;
  /** A background refresh of a stale entry: `req` is the cache's copy of the request, with no client behind it. */
  readonly refresh: boolean;
}

/**
 * Published on `express-resilient-cache:fill:end` once for each `fill:start`, when the handler's response has ended (or
 * was abandoned). Whether it was stored is told later, on `store`.
 */
export interface FillEndMessage {
  readonly req: Request;
  readonly refresh: boolean;
  /** The name the request is counted under. */
  readonly name: string;
  /**
   * `recorded`: the route's response went out, recorded (a miss; see `store` for whether it was kept); `stale`: its 5xx
   * was replaced by the stale entry; `validated`: it confirmed the stored entry (304), which answered; `bypass`: the
   * route said `route(false)`; `handed-over`: a route with its own key took the request over (and looks it up again).
   */
  readonly outcome: 'recorded' | 'stale' | 'validated' | 'bypass' | 'handed-over';
  /** The client went away before the response ended. */
  readonly aborted: boolean;
  /** From `fill:start` to the end of the response, in milliseconds. */
  readonly durationMs: number;
}

/** Published on `express-resilient-cache:store` when storing a fill's response has finished, stored or not. */
export interface StoreMessage {
  readonly req: Request;
  /** The name the entry is stored and counted under. */
  readonly name: string;
  /** False when the Redis write failed: the response is simply not cached. */
  readonly stored: boolean;
}

/**
 * Published on `express-resilient-cache:degraded` when Redis stops answering and the cache serves from memory (the same
 * moment as `cache.on('degraded')`, whose listener gets the error itself).
 */
export interface DegradedMessage {
  /** Which cache: `stats().instance.id`. */
  readonly instance: string;
  /** The tier that serves now. */
  readonly tier: TierState;
  /** `Name: message` of the error, with any URL password masked, at most 200 characters. */
  readonly reason: string;
}

/** Published on `express-resilient-cache:recovered` when Redis answers again and serves (as `cache.on('recovered')`). */
export interface RecoveredMessage {
  /** Which cache: `stats().instance.id`. */
  readonly instance: string;
  readonly tier: TierState;
}

/** The channels' names, for `diagnostics_channel.subscribe(name, listener)`. */
export const CHANNEL_NAMES = Object.freeze({
  lookup: 'express-resilient-cache:lookup',
  fillStart: 'express-resilient-cache:fill:start',
  fillEnd: 'express-resilient-cache:fill:end',
  store: 'express-resilient-cache:store',
  degraded: 'express-resilient-cache:degraded',
  recovered: 'express-resilient-cache:recovered',
});

/** The channels the cache publishes on; held here, so each is created once and stays the same object. */
export const channels: {
  readonly lookup: CacheChannel<LookupMessage>;
  readonly fillStart: CacheChannel<FillStartMessage>;
  readonly fillEnd: CacheChannel<FillEndMessage>;
  readonly store: CacheChannel<StoreMessage>;
  readonly degraded: CacheChannel<DegradedMessage>;
  readonly recovered: CacheChannel<RecoveredMessage>;
} = Object.freeze({
  lookup: channel(CHANNEL_NAMES.lookup),
  fillStart: channel(CHANNEL_NAMES.fillStart),
  fillEnd: channel(CHANNEL_NAMES.fillEnd),
  store: channel(CHANNEL_NAMES.store),
  degraded: channel(CHANNEL_NAMES.degraded),
  recovered: channel(CHANNEL_NAMES.recovered),
});
