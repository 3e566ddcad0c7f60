import { performance } from 'node:perf_hooks';
import type { NextFunction, Request, Response } from 'express';
import { captureResponse, type CaptureMode, type CapturedResponse, type ResponseWriter } from './capture.js';
import type { Leader } from '../coalescing/coalescer.js';
import type { CacheCore, SharedResponse } from '../core.js';
import { describeError, log } from '../observe/debug.js';
import { entryExpiresAt, type ResponseEntry, type VaryEntry } from '../entry/entry.js';
import type { FillPlan } from './fill.js';
import { judgeResponse, type Verdict } from './policy.js';
import { variantDigest } from './keys.js';
import { routeName, routeTags } from './naming.js';
import { replay } from './replay.js';
import { setContext, type RequestContext } from './request-context.js';
import { buildResponseEntry, transientEntry } from './response-entry.js';

type StorableVerdict = Extract<Verdict, { store: true }>;

/**
 * Records the response of a request that leads a fill: decides from its status and headers whether it may be stored
 * or shared, serves the stale entry in place of a 5xx when one is allowed, counts the outcome, hands the result to
 * concurrent waiters, and stores it once the response has gone out. Its `RequestContext` lets a route that runs
 * later opt out (`route(false)`) or take the request over (its own key).
 */
export class MissRecorder {
  readonly #core: CacheCore;
  readonly #req: Request;
  readonly #res: Response;
  readonly #plan: FillPlan;
  readonly #leader: Leader<SharedResponse | undefined> | undefined;
  /** Releases the cross-instance lock, if this fill holds it. */
  readonly #releaseLock: () => void;
  readonly #context: RequestContext;
  readonly #started = performance.now();
  #verdict: Verdict | undefined;
  #servedStale = false;
  #writer: ResponseWriter | undefined;

  constructor(core: CacheCore, req: Request, res: Response, plan: FillPlan,
    leader: Leader<SharedResponse | undefined> | undefined, releaseLock: () => void) {
    this.#core = core;
    this.#req = req;
    this.#res = res;
    this.#plan = plan;
    this.#leader = leader;
    this.#releaseLock = releaseLock;
    this.#context = {
      phase: 'filling',
      route: plan.route,
      release: () => {
        leader?.resolve(undefined);
        releaseLock();
      },
    };
  }

  /** Starts recording and runs the handler. */
  start(next: NextFunction): void {
    // The client may hold a validator for an older version; the handler must produce the full response to store.
    delete this.#req.headers['if-none-match'];
    delete this.#req.headers['if-modified-since'];
    setContext(this.#core, this.#req, this.#context);
    this.#writer = captureResponse(this.#res, {
      maxBodyBytes: this.#core.options.maxBodyBytes,
      detached: this.#plan.detached,
      onHeaders: (status, headers) => this.#onHeaders(status, headers),
      onEnd: (captured) => this.#onEnd(captured),
    });
    next();
  }

  #onHeaders(status: number, headers: CapturedResponse['headers']): CaptureMode {
    const core = this.#core;
    // No X-Cache when the option is off, nor on a background refresh (no client reads it).
    const labelled = core.options.xCache && !this.#plan.detached;
    if (this.#context.phase === 'handed-over') return 'pass';
    if (this.#context.phase === 'bypass') {
      if (labelled) this.#res.setHeader('X-Cache', 'BYPASS');
      return 'pass';
    }
    const stale = this.#plan.stale;
    if (status >= 500 && stale && !this.#plan.detached) {
      this.#servedStale = true;
      for (const name of this.#res.getHeaderNames()) this.#res.removeHeader(name);
      replay(this.#req, this.#res, stale, core.options.xCache ? 'STALE' : undefined, Date.now(), this.#writer);
      return 'swallow';
    }
    if (labelled) this.#res.setHeader('X-Cache', 'MISS');
    this.#verdict = judgeResponse(status, headers, this.#context.route?.policy ?? core.options.policy, Date.now());
    if (log.middleware.enabled && !this.#verdict.store) log.middleware('not storing: %s', this.#verdict.reason);
    return this.#req.method === 'GET' && this.#verdict.share ? 'record' : 'pass';
  }

  #onEnd(captured: CapturedResponse | undefined): void {
    const context = this.#context;
    if (context.phase === 'handed-over') return context.release();
    const name = routeName(context.route, this.#req);
    if (context.phase === 'bypass') {
      this.#core.stats.count(name, 'bypasses');
      return context.release();
    }
    this.#count(name);
    if (this.#servedStale && this.#plan.stale) {
      this.#leader?.resolve({ entry: this.#plan.stale, label: 'STALE', vary: [], variant: '' });
      return this.#releaseLock();
    }
    const verdict = this.#verdict;
    if (!captured?.body || !verdict?.share) return context.release();
    try {
      this.#shareAndStore({ ...captured, body: captured.body }, verdict, name);
    } catch (error) {
      if (log.middleware.enabled) log.middleware('response could not be stored: %s', describeError(error));
      context.release();
    }
  }

  #count(name: string): void {
    const stats = this.#core.stats;
    stats.latency.handler.record(performance.now() - this.#started);
    if (this.#plan.detached) return;
    stats.count(name, this.#servedStale ? 'stale' : 'misses');
    if (this.#plan.failed) stats.count(name, 'errors');
  }

  /** Waiters get the entry (stored) or a transient copy (an error, say); a stored one keeps answering newcomers until it lands. */
  #shareAndStore(captured: CapturedResponse & { body: Buffer }, verdict: Verdict, name: string): void {
    const req = this.#req;
    const variant = verdict.vary.length > 0 ? variantDigest(this.#plan.base, verdict.vary, req) : '';
    if (!verdict.store) {
      this.#leader?.resolve({ entry: transientEntry(this.#res, captured, name), label: 'MISS', vary: verdict.vary, variant });
      return this.#releaseLock();
    }
    const tags = routeTags(this.#context.route, req, this.#res);
    const entry = buildResponseEntry(this.#res, captured, { now: Date.now(), ...verdict }, name, tags);
    this.#leader?.hold({ entry, label: 'HIT', vary: verdict.vary, variant });
    void this.#store(entry, verdict).finally(() => {
      this.#leader?.release();
      this.#releaseLock();
    });
  }

  async #store(entry: ResponseEntry, verdict: StorableVerdict): Promise<void> {
    const core = this.#core;
    const ttlMs = entryExpiresAt(entry) - Date.now();
    const tagging = { tagKeys: entry.tags.map((tag) => core.keys.tag(tag)), nameKey: core.keys.name(entry.name) };
    const baseKey = core.keys.response(this.#plan.base);
    let stored: boolean;
    if (verdict.vary.length === 0) {
      stored = (await core.store.set(baseKey, entry, ttlMs, tagging)) !== undefined;
    } else {
      // The base key holds the Vary index; the response goes under the key of this request's variant.
      const index: VaryEntry = { kind: 'vary', fields: verdict.vary, createdAt: entry.createdAt, freshUntil: entry.freshUntil,
        staleWhileRevalidateUntil: entry.staleWhileRevalidateUntil, staleIfErrorUntil: entry.staleIfErrorUntil };
      const variantKey = core.keys.response(variantDigest(this.#plan.base, verdict.vary, this.#req));
      const tiers = await Promise.all([core.store.set(baseKey, index, ttlMs, tagging), core.store.set(variantKey, entry, ttlMs, tagging)]);
      stored = tiers.every((tier) => tier !== undefined);
    }
    if (stored) core.stats.count(entry.name, 'stores');
  }
}
