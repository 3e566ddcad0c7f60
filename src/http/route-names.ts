import type { Request } from 'express';

/** Counter name for requests no route matched (404s, static files served by middleware). */
export const UNMATCHED = '(unmatched)';

/** What naming reads of an Express app, router layer and route, on Express 4 and 5 alike. */
interface AppLike {
  readonly parent?: AppLike;
  readonly mountpath?: unknown;
  readonly _router?: { readonly stack?: unknown };
  readonly router?: { readonly stack?: unknown };
}
interface LayerLike {
  readonly route?: unknown;
  readonly handle?: { readonly stack?: unknown };
  /** The pattern as written (router >= 2.3, behind Express 5). */
  readonly rawPath?: unknown;
  /** What the layer last matched, and its parameters (Express 4, router < 2.3). */
  readonly path?: unknown;
  readonly params?: Record<string, unknown>;
}

/** Routers nested deeper than this are not searched (a router mounted inside itself would loop). */
const MAX_DEPTH = 16;
const names = new WeakMap<object, { readonly app: object; readonly name: string }>();

/**
 * The counter name of the route a request matched: the path patterns it was mounted under plus its own, as written
 * (`/t/:tenant/items`), never the request's own text, so no request can make a new name. Found once per route by
 * walking the app's routers to it, then remembered. A router mounted at several paths is named by the first.
 */
export function routeName(req: Request): string {
  const route = req.route as { readonly path?: unknown } | undefined;
  if (!route || typeof route !== 'object') return UNMATCHED;
  const app = req.app as unknown as AppLike;
  const known = names.get(route);
  if (known && known.app === app) return known.name;
  const name = `${appPrefix(app)}${routerPrefix(app, route)}${patternText(route.path)}` || '/';
  names.set(route, { app, name });
  return name;
}

/** The patterns a sub-app was mounted at, outermost first (the root app's is `/`, which adds nothing). */
function appPrefix(app: AppLike): string {
  let prefix = '';
  for (let at: AppLike | undefined = app; at?.parent; at = at.parent) prefix = `${patternText(at.mountpath)}${prefix}`;
  return prefix;
}

function routerPrefix(app: AppLike, route: object): string {
  // Express 4 keeps its router in `_router` and throws on `router`; Express 5 has `router`.
  const router = '_router' in app ? app._router : app.router;
  const chain = findRoute(router?.stack, route, 0);
  return chain ? chain.map(mountPattern).join('') : '';
}

/** The mount layers from `stack` down to the layer of `route`, or undefined when it is not under `stack`. */
function findRoute(stack: unknown, route: object, depth: number): LayerLike[] | undefined {
  if (!Array.isArray(stack) || depth > MAX_DEPTH) return undefined;
  for (const layer of stack as LayerLike[]) {
    if (layer.route === route) return [];
    const inner = findRoute(layer.handle?.stack, route, depth + 1);
    if (inner) return [layer, ...inner];
  }
  return undefined;
}

/**
 * A mount layer's pattern. Express 4 and older routers keep no pattern, only what the layer matched last and its
 * parameters; putting `:name` back for each parameter's segment gives the pattern again (from any request's match).
 */
function mountPattern(layer: LayerLike): string {
  if (layer.rawPath !== undefined) return patternText(layer.rawPath);
  if (typeof layer.path !== 'string') return '';
  const params = Object.entries(layer.params ?? {});
  const segments = layer.path.split('/').map((segment) => {
    const value = safeDecode(segment);
    const param = params.find(([, v]) => v === value);
    if (!param || segment === '') return segment;
    params.splice(params.indexOf(param), 1);
    return `:${param[0]}`;
  });
  // A parameter inside a segment (`/file-:id`) cannot be put back: name the parameters alone, never the matched text.
  if (params.length > 0) return `/${Object.keys(layer.params ?? {}).map((name) => `:${name}`).join('/')}`;
  return trimSlash(segments.join('/'));
}

/** A path pattern as text: strings as written (without a trailing slash), RegExps as their source, lists joined. */
function patternText(pattern: unknown): string {
  if (typeof pattern === 'string') return trimSlash(pattern);
  if (pattern instanceof RegExp) return String(pattern);
  if (Array.isArray(pattern)) return pattern.map(patternText).join('|');
  return '';
}

function trimSlash(path: string): string {
  return path.endsWith('/') ? path.slice(0, -1) : path;
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
