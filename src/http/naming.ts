import type { Request, Response } from 'express';
import type { ResolvedRoute } from '../config/options.js';

/** Counter name for requests no route matched (404s, static files served by middleware). */
export const UNMATCHED = '(unmatched)';

/** The name a request is counted under: the route's `name`, else its path pattern as Express matched it. */
export function routeName(route: ResolvedRoute | undefined, req: Request): string {
  if (route?.name) return route.name;
  const matched = req.route as { path?: unknown } | undefined;
  return typeof matched?.path === 'string' ? `${req.baseUrl}${matched.path}` : UNMATCHED;
}

/** A route's tags for one response; a tag function that throws stores the entry untagged rather than failing. */
export function routeTags(route: ResolvedRoute | undefined, req: Request, res: Response): readonly string[] {
  const tags = route?.tags;
  if (tags === undefined) return [];
  const list = typeof tags === 'function' ? tags(req, res) : tags;
  return Array.isArray(list) ? list.filter((t): t is string => typeof t === 'string' && t !== '') : [];
}
