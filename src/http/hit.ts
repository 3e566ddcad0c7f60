import type { Request, Response } from 'express';
import type { CacheCore } from '../core.js';
import type { ResponseEntry } from '../entry/entry.js';
import { replay, type ReplayLabel } from './replay.js';

/** Answers from a stored entry and counts it under the name it was stored with. */
export function hit(core: CacheCore, req: Request, res: Response, entry: ResponseEntry, label: Exclude<ReplayLabel, 'MISS'>,
  now: number, failed: boolean): void {
  core.stats.count(entry.name, label === 'STALE' ? 'stale' : 'hits');
  if (failed) core.stats.count(entry.name, 'errors');
  replay(req, res, entry, core.options.xCache ? label : undefined, now);
}
