import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import type { Application, Request } from 'express';
import type { CacheCore } from '../core.js';
import type { ResponseEntry } from '../entry/entry.js';
import { describeError, log } from '../observe/debug.js';
import { stripConditionalHeaders } from './conditional.js';

/**
 * A background refresh that has not finished by then (its response never ended) no longer blocks the next refresh of
 * its key, nor holds back other fills of it.
 */
export const REFRESH_GIVE_UP_MS = 30_000;
const REFRESH = Symbol('express-resilient-cache.refresh');

/** True for the copy of a request that a background refresh sends through the app. */
export function isRefresh(req: Request): boolean {
  return (req as unknown as Record<symbol, unknown>)[REFRESH] !== undefined;
}

/** The stale entry a background refresh revalidates, carried by its copy of the request. */
export function staleEntryOf(req: Request): ResponseEntry | undefined {
  const entry = (req as unknown as Record<symbol, unknown>)[REFRESH];
  return typeof entry === 'object' && entry !== null ? entry as ResponseEntry : undefined;
}

/**
 * Refreshes a stale entry in the background: a copy of the request (same method, URL and headers, no client behind
 * it) goes through the whole app again, from the top, so every middleware a real request meets runs for it too. The
 * cache middleware recognises the copy, skips the lookup, records the handler's response and stores it; nothing is
 * written to any socket. One refresh per key at a time: while one runs, the fill registry holds the key.
 */
export function refreshInBackground(core: CacheCore, req: Request, key: string, entry: ResponseEntry): void {
  if (core.fills.pending(key) || core.refreshing.has(key) || core.closed) return;
  // Held from dispatch until the copy's response ends: the copy reaches the cache middleware only after whatever
  // runs before it, and stale hits arriving meanwhile must not start a second refresh.
  core.refreshing.add(key);
  const done = () => core.refreshing.delete(key);
  core.clock.setTimeout(done, REFRESH_GIVE_UP_MS);
  // Express sets `parent` on mounted sub-apps and `handle` on every app, though its types declare neither.
  type App = Application & { parent?: App; handle(req: unknown, res: unknown, done: (error?: unknown) => void): void };
  let app = req.app as App;
  while (app.parent) app = app.parent;
  const copy = copyRequest(req, entry);
  const res = new ServerResponse(copy);
  res.once('finish', done);
  const failed = (error: unknown) => {
    done();
    if (error && log.middleware.enabled) log.middleware('background refresh failed: %s', describeError(error));
  };
  try {
    app.handle(copy, res, failed);
  } catch (error) {
    failed(error);
  }
}

function copyRequest(req: Request, entry: ResponseEntry): IncomingMessage {
  // A socket that is never connected: the copy has no client, but code that reads the peer's address still can.
  const socket = new Socket();
  Object.defineProperty(socket, 'remoteAddress', { value: req.socket.remoteAddress });
  Object.defineProperty(socket, 'encrypted', { value: (req.socket as { encrypted?: boolean }).encrypted });
  const copy = new IncomingMessage(socket);
  copy.method = 'GET';
  copy.url = req.originalUrl;
  copy.httpVersionMajor = req.httpVersionMajor;
  copy.httpVersionMinor = req.httpVersionMinor;
  copy.httpVersion = req.httpVersion;
  copy.headers = { ...req.headers };
  copy.rawHeaders = [...req.rawHeaders];
  stripConditionalHeaders(copy);
  copy.push(null);
  (copy as unknown as Record<symbol, unknown>)[REFRESH] = entry;
  return copy;
}
