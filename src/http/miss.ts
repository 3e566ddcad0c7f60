import type { OutgoingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Timer } from '../clock.js';
import type { Leader } from '../coalescing/coalescer.js';
import type { SharedResponse } from '../core.js';
import type { ResponseEntry, VaryEntry } from '../entry/entry.js';
import { entryExpiresAt } from '../entry/entry.js';
import { describeError, log } from '../observe/debug.js';
import { captureResponse, type CaptureMode, type CapturedResponse, type ResponseWriter } from './capture.js';
import { stripConditionalHeaders } from './conditional.js';
import type { Exchange } from './exchange.js';
import { variantDigest } from './keys.js';
import { judgeResponse, personalReason, type Verdict } from './policy.js';
import { REFRESH_GIVE_UP_MS } from './refresh.js';
import { replay } from './replay.js';
import { buildResponseEntry, transientEntry } from './response-entry.js';

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
  /** Redis failed during the lookup (counted as an error for the name). */
  readonly failed: boolean;
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
  if (shared.label !== 'MISS') {
    x.hit(shared.entry, shared.label, false);
    return true;
  }
  x.count('misses', shared.entry.name);
  replay(x.req, x.res, shared.entry, x.core.options.xCache ? 'MISS' : undefined, x.core.clock.now());
  return true;
}

type StorableVerdict = Extract<Verdict, { store: true }>;

/**
 * Records the response of a request that leads a fill: decides from its status and headers whether it may be stored
 * or shared, serves the stale entry in place of a 5xx when one is allowed, counts the outcome, hands the result to
 * concurrent waiters, and stores it once the response has gone out. The exchange it leaves on the request lets a route
 * that runs later opt out (`route(false)`) or take the request over (its own key).
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
  #verdict: Verdict | undefined;
  #servedStale = false;
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
    stripConditionalHeaders(x.req);
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
    x.next();
  }

  #onHeaders(status: number, headers: CapturedResponse['headers']): CaptureMode {
    const x = this.#x;
    const { core, res } = x;
    if (x.phase === 'handed-over') return 'pass';
    if (x.phase === 'bypass') {
      if (x.labelled) res.setHeader('X-Cache', 'BYPASS');
      return 'pass';
    }
    const stale = this.#lookedUp.stale;
    if (status >= 500 && stale && !x.refresh) {
      this.#servedStale = true;
      for (const name of res.getHeaderNames()) res.removeHeader(name);
      replay(x.req, res, stale, core.options.xCache ? 'STALE' : undefined, core.clock.now(), this.#writer);
      return 'swallow';
    }
    if (x.labelled) res.setHeader('X-Cache', 'MISS');
    this.#verdict = judgeResponse(status, headers, x.route?.policy ?? core.options.policy, core.clock.now());
    if (log.middleware.enabled && !this.#verdict.store) log.middleware('not storing: %s', this.#verdict.reason);
    return x.req.method === 'GET' && this.#verdict.share ? 'record' : 'pass';
  }

  #onEnd(captured: CapturedResponse | undefined): void {
    const x = this.#x;
    if (x.phase === 'handed-over') return x.release();
    const name = x.name;
    if (x.phase === 'bypass') {
      x.count('bypasses', name);
      return x.release();
    }
    this.#count(name);
    if (this.#servedStale && this.#lookedUp.stale) {
      this.#leader?.resolve({ entry: this.#lookedUp.stale, label: 'STALE', vary: [], variant: '' });
      return this.#releaseLock();
    }
    const verdict = this.#verdict;
    if (!captured?.body || !verdict?.share) return x.release();
    try {
      this.#shareAndStore({ ...captured, body: captured.body }, verdict, name);
    } catch (error) {
      if (log.middleware.enabled) log.middleware('response could not be stored: %s', describeError(error));
      x.release();
    }
  }

  /**
   * Whether the response, as it finally went out, may still be kept: a Set-Cookie or a private, no-store or no-cache
   * added on the way out (express-session's cookie, by middleware before the cache) means it may not.
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

  #count(name: string): void {
    const x = this.#x;
    x.core.stats.latency.handler.record(performance.now() - this.#started);
    if (x.refresh) return;
    x.count(this.#servedStale ? 'stale' : 'misses', name);
    if (this.#lookedUp.failed) x.count('errors', name);
  }

  /** Waiters get the entry (stored) or a transient copy (an error, say); a stored one keeps answering newcomers until it lands. */
  #shareAndStore(captured: CapturedResponse & { body: Buffer }, verdict: Verdict, name: string): void {
    const { req, res, core } = this.#x;
    const now = core.clock.now();
    const variant = verdict.vary.length > 0 ? variantDigest(this.#base, verdict.vary, req) : '';
    if (!verdict.store) {
      this.#leader?.resolve({ entry: transientEntry(res, captured, this.#before, now, name), label: 'MISS', vary: verdict.vary, variant });
      return this.#releaseLock();
    }
    const entry = buildResponseEntry(res, withVary(captured, verdict.vary), this.#before, now, verdict, name, this.#x.tags());
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
      const { createdAt, freshUntil, staleWhileRevalidateUntil, staleIfErrorUntil } = entry;
      const index: VaryEntry = { kind: 'vary', fields: verdict.vary, createdAt, freshUntil, staleWhileRevalidateUntil, staleIfErrorUntil };
      const variantKey = core.keys.response(variant);
      const tiers = await Promise.all([core.store.set(baseKey, index, ttlMs, tagging), core.store.set(variantKey, entry, ttlMs, tagging)]);
      stored = tiers.every((tier) => tier !== undefined);
    }
    if (stored) core.stats.count(entry.name, 'stores');
  }
}

/** The recorded response with every field the verdict varies on named in its `Vary` (one the policy added, say). */
function withVary(captured: CapturedResponse & { body: Buffer }, vary: readonly string[]): CapturedResponse & { body: Buffer } {
  const named = new Set(String(captured.headers['vary'] ?? '').split(',').map((field) => field.trim().toLowerCase()));
  const missing = vary.filter((field) => !named.has(field));
  if (missing.length === 0) return captured;
  const header = [captured.headers['vary'], ...missing].filter((part) => part !== undefined && part !== '').join(', ');
  return { ...captured, headers: { ...captured.headers, vary: header } };
}
