import type { NextFunction, Request, Response } from 'express';
import type { CacheCore, SharedResponse } from '../core.js';
import type { ResponseEntry } from '../entry/entry.js';
import { hit } from './hit.js';
import { variantDigest } from './keys.js';
import { MissRecorder } from './miss-recorder.js';
import type { ResolvedRoute } from '../config/options.js';
import { replay } from './replay.js';

/** A background refresh that has not finished by then no longer holds back other fills of its key. */
const REFRESH_GIVE_UP_MS = 30_000;

export interface FillPlan {
  readonly route: ResolvedRoute | undefined;
  /** Digest of the request's base key, for choosing a variant once the response says what it varies on. */
  readonly base: string;
  /** Entry key waiters coalesce on. */
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
  /** A background refresh: no client to answer. */
  readonly detached: boolean;
}

/**
 * A miss: wait for a concurrent fill of the same key if there is one (in this process, or with `lock` in any), else
 * lead the fill: the handler runs through `next()` while a MissRecorder records, shares and stores its response.
 */
export async function fill(core: CacheCore, req: Request, res: Response, next: NextFunction, plan: FillPlan): Promise<void> {
  // Looked up and led in the same tick: with an await between the two, every request whose lookup missed in this
  // tick would find no fill yet and lead one of its own.
  const pending = plan.detached ? undefined : core.fills.pending(plan.key, plan.since);
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
  new MissRecorder(core, req, res, plan, leader, release).start(next);
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
