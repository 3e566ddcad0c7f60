import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Timer } from '../clock.js';
import type { Leader } from '../coalescing/coalescer.js';
import type { SharedResponse } from '../core.js';
import { entryExpiresAt, entryTimes, type ResponseEntry, type VaryEntry } from '../entry/entry.js';
import { channels } from '../observe/channels.js';
import { describeError, log } from '../observe/debug.js';
import type { CacheStatusParams } from './cache-status.js';
import { captureResponse, type CaptureMode, type CapturedResponse, type ResponseWriter } from './capture.js';
import { setValidators, stripConditionalHeaders } from './conditional.js';
import type { Exchange } from './exchange.js';
import { variantDigest } from './keys.js';
import { judgeResponse, personalReason, type Verdict } from './policy.js';
import { REFRESH_GIVE_UP_MS } from './refresh.js';
import { replay } from './replay.js';
import { buildResponseEntry, headerObject, refreshedHeaders, transientEntry } from './response-entry.js';

/** What the lookup before a miss learned. */
export interface MissLookup {
  /** Entry key waiters coalesce on: the base key, or the variant key a stored `Vary` selects. */
  readonly key: string;
  /**
   * `core.fills.mark()` taken as a Redis lookup began: a fill released since then still answers this request, whose
   * lookup overlapped it. Undefined when the lookup was synchronous (memory), so nothing can have been released since.
   */
  readonly since: number | undefined;
  /** An expired entry still inside its `staleIfError` window: served in place of a 5xx. */
  readonly stale: ResponseEntry | undefined;
  /** A stored entry past its freshness: the route is asked whether it is still current (RFC 9111 §4.3.1). */
  readonly validate: ResponseEntry | undefined;
  /** Redis failed during the lookup (counted as an error for the name). */
  readonly failed: boolean;
  /** Why the request goes to the route, for `Cache-Status`. */
  readonly forward: 'uri-miss' | 'vary-miss' | 'stale';
}

/**
 * A miss: wait for a concurrent fill of the same key if there is one (in this process, or with `lock` in any), else
 * lead the fill: the handler runs through `next()` while a `Fill` records, shares and stores its response.
 * `base` is the digest of the request's base key, for choosing a variant once the response says what it varies on.
 */
export async function miss(x: Exchange, base: string, lookedUp: MissLookup): Promise<void> {
  const { core, req } = x;
  // A request for part of the body (Range, If-Range) neither waits for a plain fill nor leads one: its answer is not
  // the URL's, and a plain request must never be handed a partial response.
  const alone = x.refresh || req.headers.range !== undefined || req.headers['if-range'] !== undefined;
  // Looked up and led in the same tick: with an await between the two, every request whose lookup missed in this
  // tick would find no fill yet and lead one of its own.
  const pending = alone ? undefined : core.fills.pending(lookedUp.key, lookedUp.since);
  if (pending && (await joinFill(x, base, pending))) return;
  const leader = req.method === 'GET' && !(alone && !x.refresh) ? core.fills.lead(lookedUp.key) : undefined;
  let releaseLock = () => undefined as void;
  if (leader && core.lock && !x.refresh) {
    const result = await core.lock.acquire(lookedUp.key);
    if (result.kind === 'filled' && result.entry.kind === 'response') {
      leader.resolve({ entry: result.entry, label: 'HIT', vary: [], variant: '' });
      return x.hit(result.entry, 'HIT', false);
    }
    if (result.kind === 'lead') releaseLock = result.release;
  }
  if (x.refresh) core.clock.setTimeout(() => leader?.resolve(undefined), REFRESH_GIVE_UP_MS);
  new Fill(x, base, lookedUp, leader, releaseLock).start();
}

/**
 * Waits for a concurrent fill of the same key, at most `coalesceWait`, and answers with its response when it may be
 * shared with us; false when we must run the handler ourselves.
 */
async function joinFill(x: Exchange, base: string, pending: Promise<SharedResponse | undefined>): Promise<boolean> {
  const { clock, options } = x.core;
  let timer: Timer | undefined;
  const gaveUp = new Promise<undefined>((resolve) => {
    timer = clock.setTimeout(() => resolve(undefined), options.coalesceWaitMs);
  });
  const shared = await Promise.race([pending.catch(() => undefined), gaveUp]);
  clock.clearTimer(timer);
  if (!shared) return false;
  if (shared.vary.length > 0 && variantDigest(base, shared.vary, x.req) !== shared.variant) return false;
  // A stored entry that is not fresh (no-cache, max-age=0) answers nobody without asking the route again.
  if (shared.label === 'HIT' && clock.now() >= shared.entry.freshUntil) return false;
  if (shared.label !== 'MISS') {
    x.hit(shared.entry, shared.label, false, { collapsed: true });
    return true;
  }
  x.count('misses', shared.entry.name);
  const now = x.core.clock.now();
  replay(x.req, x.res, shared.entry, {
    label: x.core.options.xCache ? 'MISS' : undefined,
    cacheStatus: x.cacheStatus({ fwd: 'uri-miss', collapsed: true }),
    now,
  });
  return true;
}

type StorableVerdict = Extract<Verdict, { store: true }>;

/**
 * Records the response of a request that leads a fill: decides from its status and headers whether it may be stored
 * or shared, serves the stale entry in place of a 5xx when one is allowed, takes a 304 to a revalidation as the
 * stored entry confirmed, counts the outcome, hands the result to concurrent waiters, and stores it once the response
 * has gone out. The exchange it leaves on the request lets a route that runs later opt out (`route(false)`) or take
 * the request over (its own key).
 */
class Fill {
  readonly #x: Exchange;
  readonly #base: string;
  readonly #lookedUp: MissLookup;
  readonly #leader: Leader<SharedResponse | undefined> | undefined;
  /** Releases the cross-instance lock, if this fill holds it. */
  readonly #releaseLock: () => void;
  readonly #started = performance.now();
  /** The headers the response had when the cache saw the request: set by the middleware before it. */
  readonly #before: OutgoingHttpHeaders;
  /** When the route was asked, and when its headers came (RFC 9111 §4.2.3's request_time and response_time). */
  #requestTime = 0;
  #responseTime = 0;
  /** The client's own validators, taken off the request so the route answers in full; answered from the entry. */
  #clientHeaders: IncomingHttpHeaders = {};
  #verdict: Verdict | undefined;
  #outcome: 'recorded' | 'stale' | 'validated' = 'recorded';
  #released = false;
  #writer: ResponseWriter | undefined;

  constructor(x: Exchange, base: string, lookedUp: MissLookup, leader: Leader<SharedResponse | undefined> | undefined,
    releaseLock: () => void) {
    this.#x = x;
    this.#base = base;
    this.#lookedUp = lookedUp;
    this.#leader = leader;
    this.#releaseLock = releaseLock;
    this.#before = x.res.getHeaders();
  }

  /** Starts recording and runs the handler. */
  start(): void {
    const x = this.#x;
    this.#clientHeaders = { ...stripConditionalHeaders(x.req), range: x.req.headers.range, 'if-range': x.req.headers['if-range'] };
    if (this.#lookedUp.validate) setValidators(x.req, this.#lookedUp.validate);
    this.#requestTime = x.core.clock.now();
    x.release = () => this.#release();
    x.attach('filling');
    this.#writer = captureResponse(x.res, {
      maxBodyBytes: x.core.options.maxBodyBytes,
      detached: x.refresh,
      onHeaders: (status, headers) => {
        const mode = this.#onHeaders(status, headers);
        // Known now not to be shared: waiters run their own handlers at once rather than wait for this one's end
        // (an event stream may never end).
        if (mode === 'pass') this.#release();
        return mode;
      },
      onSent: (headers) => this.#keepAsSent(headers),
      onStopped: () => this.#release(),
      onEnd: (captured) => this.#onEnd(captured),
    });
    if (channels.fillStart.hasSubscribers) channels.fillStart.publish({ req: x.req, refresh: x.refresh });
    x.next();
  }

  #onHeaders(status: number, headers: CapturedResponse['headers']): CaptureMode {
    const x = this.#x;
    const { core, res } = x;
    this.#responseTime = core.clock.now();
    if (x.phase === 'handed-over') return 'pass';
    if (x.phase === 'bypass') {
      x.labelBypass();
      return 'pass';
    }
    if (status === 304 && this.#lookedUp.validate) {
      // The stored entry is still current: the client gets it (see #revalidated), never the route's 304 to our question.
      this.#outcome = 'validated';
      return 'swallow';
    }
    const stale = this.#lookedUp.stale;
    if (status >= 500 && stale && !x.refresh) {
      this.#outcome = 'stale';
      this.#resetHeaders();
      replay(x.req, res, stale, {
        label: core.options.xCache ? 'STALE' : undefined,
        cacheStatus: x.cacheStatus({ fwd: 'stale', fwdStatus: status, ttlMs: stale.freshUntil - this.#responseTime }),
        now: this.#responseTime,
        writer: this.#writer,
        clientHeaders: this.#clientHeaders,
      });
      return 'swallow';
    }
    const verdict = judgeResponse(status, headers, x.route?.policy ?? core.options.policy, this.#times());
    this.#verdict = verdict;
    if (x.labelled) res.setHeader('X-Cache', 'MISS');
    const cacheStatus = x.cacheStatus(this.#forwarded(verdict.store));
    if (cacheStatus) res.setHeader('Cache-Status', cacheStatus);
    if (log.middleware.enabled && !verdict.store) log.middleware('not storing: %s', verdict.reason);
    return x.req.method === 'GET' && verdict.share ? 'record' : 'pass';
  }

  #forwarded(stored: boolean): CacheStatusParams {
    return { fwd: this.#lookedUp.forward, stored };
  }

  #times(): { requestTime: number; responseTime: number } {
    return { requestTime: this.#requestTime, responseTime: this.#responseTime };
  }

  #onEnd(captured: CapturedResponse | undefined): void {
    const x = this.#x;
    if (channels.fillEnd.hasSubscribers) channels.fillEnd.publish({ req: x.req, refresh: x.refresh, name: x.name,
      outcome: x.phase === 'filling' ? this.#outcome : x.phase, aborted: captured === undefined, durationMs: performance.now() - this.#started });
    if (x.phase === 'handed-over') return x.release();
    const name = x.name;
    if (x.phase === 'bypass') {
      x.count('bypasses', name);
      return x.release();
    }
    this.#count(name);
    if (this.#outcome === 'stale' && this.#lookedUp.stale) {
      this.#leader?.resolve({ entry: this.#lookedUp.stale, label: 'STALE', vary: [], variant: '' });
      return this.#releaseLock();
    }
    try {
      if (this.#outcome === 'validated' && captured && this.#lookedUp.validate) return this.#revalidated(this.#lookedUp.validate, captured.headers);
      const verdict = this.#verdict;
      if (!captured?.body || !verdict?.share) return x.release();
      this.#shareAndStore({ ...captured, body: captured.body }, verdict, name);
    } catch (error) {
      if (log.middleware.enabled) log.middleware('response could not be stored: %s', describeError(error));
      x.release();
    }
  }

  /**
   * The route confirmed the stored entry with a 304: its headers update the entry's (RFC 9111 §3.2), its freshness is
   * worked out again, the stored body is reused, and the client (and any waiter) is answered from the updated entry.
   */
  #revalidated(stored: ResponseEntry, notModified: OutgoingHttpHeaders): void {
    const { core, req } = this.#x;
    const headers = refreshedHeaders(stored, notModified, this.#responseTime);
    const verdict = judgeResponse(stored.status, headerObject(headers), this.#x.route?.policy ?? core.options.policy, this.#times());
    const times = verdict.store
      ? entryTimes(this.#responseTime - verdict.initialAgeMs, verdict)
      : { createdAt: this.#responseTime, freshUntil: this.#responseTime, staleWhileRevalidateUntil: this.#responseTime, staleIfErrorUntil: this.#responseTime, keepUntil: this.#responseTime };
    const entry: ResponseEntry = { ...stored, headers, ...times, etag: etagOf(headers) ?? stored.etag };
    if (!this.#x.refresh) {
      this.#resetHeaders();
      this.#x.hit(entry, 'REVALIDATED', this.#lookedUp.failed, { writer: this.#writer, clientHeaders: this.#clientHeaders });
    }
    const variant = verdict.vary.length > 0 ? variantDigest(this.#base, verdict.vary, req) : '';
    if (!verdict.store) {
      this.#leader?.resolve({ entry, label: 'HIT', vary: verdict.vary, variant });
      return this.#releaseLock();
    }
    this.#leader?.hold({ entry, label: 'HIT', vary: verdict.vary, variant });
    void this.#store(entry, verdict, variant).finally(() => {
      this.#leader?.release();
      this.#releaseLock();
    });
  }

  /** Puts the response's headers back to what the middleware before the cache had set, to answer from an entry. */
  #resetHeaders(): void {
    const res = this.#x.res;
    for (const name of res.getHeaderNames()) res.removeHeader(name);
    for (const [name, value] of Object.entries(this.#before)) if (value !== undefined) res.setHeader(name, value);
  }

  /**
   * Whether the response, as it finally went out, may still be kept: a Set-Cookie, private or no-store added on the
   * way out (express-session's cookie, by middleware before the cache) means it may not.
   */
  #keepAsSent(headers: OutgoingHttpHeaders): boolean {
    const reason = personalReason(headers);
    if (!reason) return true;
    if (log.middleware.enabled) log.middleware('not storing: %s added as the response went out', reason);
    this.#verdict = undefined;
    return false;
  }

  /** Lets waiters go (they run their own handlers) and frees the cross-instance lock; once. */
  #release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#leader?.resolve(undefined);
    this.#releaseLock();
  }

  /** A revalidated entry counts as a hit (x.hit counts it), a stale one in place of an error as stale. */
  #count(name: string): void {
    const x = this.#x;
    x.core.stats.latency.handler.record(performance.now() - this.#started);
    if (x.refresh || this.#outcome === 'validated') return;
    x.count(this.#outcome === 'stale' ? 'stale' : 'misses', name);
    if (this.#lookedUp.failed) x.count('errors', name);
  }

  /** Waiters get the entry (stored) or a transient copy (an error, say); a stored one keeps answering newcomers until it lands. */
  #shareAndStore(captured: CapturedResponse & { body: Buffer }, verdict: Verdict, name: string): void {
    const { req, res } = this.#x;
    const variant = verdict.vary.length > 0 ? variantDigest(this.#base, verdict.vary, req) : '';
    if (!verdict.store) {
      const entry = transientEntry(res, captured, this.#before, this.#responseTime, name);
      this.#leader?.resolve({ entry, label: 'MISS', vary: verdict.vary, variant });
      return this.#releaseLock();
    }
    const times = { ...entryTimes(this.#responseTime - verdict.initialAgeMs, verdict), arrivedAt: this.#responseTime };
    const entry = buildResponseEntry(res, withVary(captured, verdict.vary), this.#before, times, name, this.#x.tags());
    this.#leader?.hold({ entry, label: 'HIT', vary: verdict.vary, variant });
    void this.#store(entry, verdict, variant).finally(() => {
      this.#leader?.release();
      this.#releaseLock();
    });
  }

  /** Stores the entry; a response that varies goes under its variant's key, with a Vary index at the base key. */
  async #store(entry: ResponseEntry, verdict: StorableVerdict, variant: string): Promise<void> {
    const { core } = this.#x;
    const ttlMs = entryExpiresAt(entry) - core.clock.now();
    const tagging = { tagKeys: entry.tags.map((tag) => core.keys.tag(tag)), nameKey: core.keys.name(entry.name) };
    const baseKey = core.keys.response(this.#base);
    let stored: boolean;
    if (verdict.vary.length === 0) {
      stored = (await core.store.set(baseKey, entry, ttlMs, tagging)) !== undefined;
    } else {
      const { createdAt, freshUntil, staleWhileRevalidateUntil, staleIfErrorUntil, keepUntil } = entry;
      const index: VaryEntry = { kind: 'vary', fields: verdict.vary, createdAt, freshUntil, staleWhileRevalidateUntil, staleIfErrorUntil, keepUntil };
      const variantKey = core.keys.response(variant);
      const tiers = await Promise.all([core.store.set(baseKey, index, ttlMs, tagging), core.store.set(variantKey, entry, ttlMs, tagging)]);
      stored = tiers.every((tier) => tier !== undefined);
    }
    if (stored) core.stats.count(entry.name, 'stores');
    if (channels.store.hasSubscribers) channels.store.publish({ req: this.#x.req, name: entry.name, stored });
  }
}

function etagOf(headers: readonly string[]): string | undefined {
  for (let i = 0; i + 1 < headers.length; i += 2) if ((headers[i] as string).toLowerCase() === 'etag') return headers[i + 1];
  return undefined;
}

/** The recorded response with every field the verdict varies on named in its `Vary` (one the policy added, say). */
function withVary(captured: CapturedResponse & { body: Buffer }, vary: readonly string[]): CapturedResponse & { body: Buffer } {
  const named = new Set(String(captured.headers['vary'] ?? '').split(',').map((field) => field.trim().toLowerCase()));
  const missing = vary.filter((field) => !named.has(field));
  if (missing.length === 0) return captured;
  const header = [captured.headers['vary'], ...missing].filter((part) => part !== undefined && part !== '').join(', ');
  return { ...captured, headers: { ...captured.headers, vary: header } };
}
