import type { IncomingHttpHeaders } from 'node:http';
import type { Request } from 'express';
import type { CookieRule, ResolvedPolicy, ResolvedRoute } from '../config/options.js';

/**
 * Why a request may be neither answered from nor stored in the shared cache. The first two say who the request is
 * (a route's own `key`, or `ignoreCookies`, can lift them); the others make the request something other than a plain
 * GET of a URL, whatever the route says.
 */
export type BypassReason = 'authorization' | 'cookie' | 'request body' | 'method rewritten';

/**
 * The rules of a shared cache for a request, before any lookup: a response is only ever shared between requests that
 * the app would answer alike. Undefined when the request may use the cache.
 */
export function bypassReason(req: Request, route: ResolvedRoute | undefined, policy: ResolvedPolicy): BypassReason | undefined {
  const headers = req.headers;
  if (route?.key === undefined) {
    // RFC 9111 §3.5: a response to a request with Authorization is that user's.
    if (headers.authorization !== undefined) return 'authorization';
    // A session or login cookie makes a page one user's, though the response says nothing of it (Varnish's rule).
    if (headers.cookie !== undefined && !cookiesIgnored(headers.cookie, policy.ignoreCookies)) return 'cookie';
  }
  // A GET's body is read by body parsers (express.json() runs on GET too), so it can change the response.
  if (hasBody(headers)) return 'request body';
  if (methodRewritten(req)) return 'method rewritten';
  return undefined;
}

/** True for the reasons a route can lift with its own key or `ignoreCookies`. */
export function isIdentity(reason: BypassReason | undefined): boolean {
  return reason === 'authorization' || reason === 'cookie';
}

function hasBody(headers: IncomingHttpHeaders): boolean {
  if (headers['transfer-encoding'] !== undefined) return true;
  const length = headers['content-length'];
  return length !== undefined && Number(length) !== 0;
}

/**
 * method-override and its kind change `req.method` and keep what came on the wire in `req.originalMethod`: a POST
 * turned into a GET is still a POST, and must not be stored as the URL's GET.
 */
function methodRewritten(req: Request): boolean {
  const original = (req as { originalMethod?: unknown }).originalMethod;
  return typeof original === 'string' && original !== req.method;
}

/** True when every cookie in a `Cookie` header is one the app says never changes a response. */
function cookiesIgnored(header: string, rule: CookieRule): boolean {
  if (rule.all) return true;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    const name = (eq === -1 ? pair : pair.slice(0, eq)).trim();
    if (name === '' && eq === -1) continue;
    if (rule.names.has(name)) continue;
    if (!rule.patterns.some((pattern) => pattern.test(name))) return false;
  }
  return true;
}
