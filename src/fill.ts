import { performance } from 'node:perf_hooks';
import type { NextFunction, Request, Response } from 'express';
import { captureResponse, type CaptureMode, type CapturedResponse } from './capture.js';
import type { CacheCore, SharedResponse } from './core.js';
import { describeError, log } from './debug.js';
import { entryExpiresAt, type ResponseEntry, type VaryEntry } from './entry.js';
import { judgeResponse, type Verdict } from './freshness.js';
import { variantDigest } from './keying.js';
import { routeName, routeTags } from './naming.js';
import type { ResolvedRoute } from './options.js';
import { replay } from './replay.js';
import { setContext, type RequestContext } from './request-context.js';
import { buildResponseEntry, transientEntry } from './response-entry.js';
import { hit } from './hit.js';

/** A background refresh that has not finished by then no longer holds back other fills of its key. */
const REFRESH_GIVE_UP_MS = 30_000;

export interface FillPlan {
  readonly route: ResolvedRoute | undefined;
  /** Digest of the request's base key, for choosing a variant once the response says what it varies on. */
  readonly base: string;
  /** Entry key waiters coalesce on. */
  readonly key: string;
  /** An expired entry still inside its `staleIfError` window: served in place of a 5xx. */
  readonly stale: ResponseEntry | undefined;
  /** Redis failed during the lookup (counted as an error for the name). */
  readonly failed: boolean;
  /** A background refresh: no client to answer. */
  readonly detached: boolean;
}

/**
 * A miss: wait for a concurrent fill of the same key if there is one, else run the handler (through `next()`),
 * record what it writes, hand the result to concurrent waiters, and store it after the response has gone out.
 */
export async function fill(core: CacheCore, req: Request, res: Response, next: NextFunction, plan: FillPlan): Promise<void> {
  // Looked up and led in the same tick: with an await between the two, every request whose lookup missed in this
  // tick would find no fill yet and lead one of its own.
  const pending = plan.detached ? undefined : core.fills.pending(plan.key);
  if (pending && (await answeredByConcurrentFill(core, req, res, plan, pending))) return;
  const leader = req.method === 'GET' ? core.fills.lead(plan.key) : undefined;
  let release = () => undefined as void;
  if (leader && core.lock && !plan.detached) {
    const result = await core.lock.acquire(plan.key);
    if (result.kind === 'filled' && result.entry.kind === 'response') {
      leader.resolve({ entry: result.entry, label: 'HIT', vary: [], variant: '' });
      return hit(core, req, res, result.entry, 'HIT', Date.now(), false);
    }
    if (result.kind === 'lead') release = result.release;
  }
  if (plan.detached) setTimeout(() => leader?.resolve(undefined), REFRESH_GIVE_UP_MS).unref();
  // The client may hold a validator for an older version; the handler must produce the full response to store.
  delete req.headers['if-none-match'];
  delete req.headers['if-modified-since'];

  const context: RequestContext = {
    phase: 'filling',
    route: plan.route,
    release: () => {
      leader?.resolve(undefined);
      release();
    },
  };
  setContext(core, req, context);
  const started = performance.now();
  let verdict: Verdict | undefined;
  let servedStale = false;

  const onHeaders = (status: number, headers: CapturedResponse['headers']): CaptureMode => {
    if (context.phase === 'handed-over') return 'pass';
    if (context.phase === 'bypass') {
      if (core.options.xCache && !plan.detached) res.setHeader('X-Cache', 'BYPASS');
      return 'pass';
    }
    if (status >= 500 && plan.stale && !plan.detached) {
      servedStale = true;
      for (const name of res.getHeaderNames()) res.removeHeader(name);
      replay(req, res, plan.stale, core.options.xCache ? 'STALE' : undefined, Date.now(), writer);
      return 'swallow';
    }
    if (core.options.xCache && !plan.detached) res.setHeader('X-Cache', 'MISS');
    verdict = judgeResponse(status, headers, context.route?.policy ?? core.options.policy, Date.now());
    if (log.middleware.enabled && !verdict.store) log.middleware('not storing: %s', verdict.reason);
    return req.method === 'GET' && verdict.share ? 'record' : 'pass';
  };

  const onEnd = (captured: CapturedResponse | undefined): void => {
    if (context.phase === 'handed-over') return context.release();
    const name = routeName(context.route, req);
    if (context.phase === 'bypass') {
      core.stats.count(name, 'bypasses');
      return context.release();
    }
    core.stats.latency.handler.record(performance.now() - started);
    if (!plan.detached) {
      core.stats.count(name, servedStale ? 'stale' : 'misses');
      if (plan.failed) core.stats.count(name, 'errors');
    }
    if (servedStale && plan.stale) {
      leader?.resolve({ entry: plan.stale, label: 'STALE', vary: [], variant: '' });
      return release();
    }
    if (!captured?.body || !verdict?.share) return context.release();
    const body = captured.body;
    try {
      const shared = share(core, req, res, { ...captured, body }, verdict, plan.base, context.route, name);
      if (verdict.store) {
        leader?.hold(shared);
        void store(core, req, shared.entry, verdict, plan).finally(() => {
          leader?.release();
          release();
        });
      } else {
        leader?.resolve(shared);
        release();
      }
    } catch (error) {
      if (log.middleware.enabled) log.middleware('response could not be stored: %s', describeError(error));
      context.release();
    }
  };

  const writer = captureResponse(res, { maxBodyBytes: core.options.maxBodyBytes, detached: plan.detached, onHeaders, onEnd });
  next();
}

/** Builds what waiters receive: the entry to store, or (for errors and other unstored statuses) a transient copy. */
function share(core: CacheCore, req: Request, res: Response, captured: CapturedResponse & { body: Buffer }, verdict: Verdict,
  base: string, route: ResolvedRoute | undefined, name: string): SharedResponse {
  const variant = verdict.vary.length > 0 ? variantDigest(base, verdict.vary, req) : '';
  if (!verdict.store) return { entry: transientEntry(res, captured, name), label: 'MISS', vary: verdict.vary, variant };
  const tags = routeTags(route, req, res);
  const entry = buildResponseEntry(res, captured, { now: Date.now(), ...verdict }, name, tags);
  return { entry, label: 'HIT', vary: verdict.vary, variant };
}

async function store(core: CacheCore, req: Request, entry: ResponseEntry,
  verdict: Extract<Verdict, { store: true }>, plan: FillPlan): Promise<void> {
  const ttlMs = entryExpiresAt(entry) - Date.now();
  const tagging = { tagKeys: entry.tags.map((tag) => core.keys.tag(tag)), nameKey: core.keys.name(entry.name) };
  const baseKey = core.keys.response(plan.base);
  let stored: boolean;
  if (verdict.vary.length === 0) {
    stored = (await core.store.set(baseKey, entry, ttlMs, tagging)) !== undefined;
  } else {
    const index: VaryEntry = { kind: 'vary', fields: verdict.vary, createdAt: entry.createdAt, freshUntil: entry.freshUntil,
      staleWhileRevalidateUntil: entry.staleWhileRevalidateUntil, staleIfErrorUntil: entry.staleIfErrorUntil };
    const variantKey = core.keys.response(variantDigest(plan.base, verdict.vary, req));
    const tiers = await Promise.all([core.store.set(baseKey, index, ttlMs, tagging), core.store.set(variantKey, entry, ttlMs, tagging)]);
    stored = tiers.every((tier) => tier !== undefined);
  }
  if (stored) core.stats.count(entry.name, 'stores');
}

/** Waits for a concurrent fill of the same key and answers with its response, when it may be shared with us. */
async function answeredByConcurrentFill(core: CacheCore, req: Request, res: Response, plan: FillPlan,
  pending: Promise<SharedResponse | undefined>): Promise<boolean> {
  const shared = await pending.catch(() => undefined);
  if (!shared) return false;
  if (shared.vary.length > 0 && variantDigest(plan.base, shared.vary, req) !== shared.variant) return false;
  const now = Date.now();
  if (shared.label === 'MISS') {
    core.stats.count(shared.entry.name, 'misses');
    replay(req, res, shared.entry, core.options.xCache ? 'MISS' : undefined, now);
    return true;
  }
  hit(core, req, res, shared.entry, shared.label, now, false);
  return true;
}
