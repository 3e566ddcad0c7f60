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
  /** The pattern compiled by path-to-regexp 0.1, and its parameters' names (Express 4). */
  readonly regexp?: unknown;
  readonly keys?: readonly { readonly name?: unknown }[];
  /** What the layer last matched, and its parameters (router 2.0 to 2.2, behind early Express 5). */
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

/** A mount layer's pattern: as written (router >= 2.3), read back from its compiled form (Express 4), or rebuilt. */
function mountPattern(layer: LayerLike): string {
  if (layer.rawPath !== undefined) return patternText(layer.rawPath);
  if (layer.regexp instanceof RegExp && Array.isArray(layer.keys)) return express4Pattern(layer.regexp, layer.keys);
  return matchedPattern(layer);
}

/**
 * Routers 2.0 to 2.2 keep no pattern, only what the layer matched last and its parameters; putting `:name` back for
 * each parameter's segment gives the pattern again (from any request's match).
 */
function matchedPattern(layer: LayerLike): string {
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

const COMPILED_END = '\\/?(?=\\/|$)';

/**
 * Express 4 keeps a mount's pattern only as path-to-regexp 0.1 compiled it (`/t/:tenant` is `^\/t(?:\/([^/]+?))\/?(?=\/|$)`,
 * a list is its patterns' sources joined by `|`). This reads the pattern back from that source and the parameter
 * names, so a name depends on the pattern alone, never on what a request matched (Express 4 matches case-insensitively:
 * `/T/acme` matches `/t/:tenant`). A RegExp mount is kept as Express 4 was given it, and is named by its source.
 */
function express4Pattern(regexp: RegExp, keys: readonly { readonly name?: unknown }[]): string {
  const alternatives = splitTopLevel(regexp.source);
  const compiled = (text: string) => text.startsWith('^') && text.endsWith(COMPILED_END);
  if (!alternatives.some(compiled)) return String(regexp);
  const names = { list: keys.map((key) => String(key.name)), next: 0 };
  return alternatives.map((text) => {
    if (compiled(text)) return readCompiled(text.slice(1, -COMPILED_END.length), names);
    // A RegExp in a list: its captures took key names too.
    names.next += captures(text);
    return `/${text}/`;
  }).join('|');
}

interface KeyCursor {
  readonly list: readonly string[];
  next: number;
}

/** A compiled string pattern (without `^` and the optional trailing slash) as it was written. */
function readCompiled(body: string, names: KeyCursor): string {
  let out = '';
  for (let i = 0; i < body.length;) {
    const c = body[i] as string;
    if (c === '\\') {
      const escaped = body.slice(i + 1, i + 2);
      out += escaped === '/' || escaped === '.' ? escaped : `\\${escaped}`;
      i += 2;
    } else if (c === '(') {
      const end = groupEnd(body, i);
      const optional = body[end] === '?';
      out += readGroup(body.slice(i, end), names) + (optional ? '?' : '');
      i = end + (optional ? 1 : 0);
    } else {
      out += c;
      i++;
    }
  }
  return trimSlash(out);
}

/** One group of a compiled pattern: a parameter (`(?:\/([^/]+?))` is `/:name`), `*`, or a group written as is. */
function readGroup(group: string, names: KeyCursor): string {
  const name = () => names.list[names.next++] ?? String(names.next - 1);
  if (group === '(.*)') {
    name();
    return '*';
  }
  const inner = group.slice(3, -1);
  const prefix = /^(?:\\\.)?(?:\\\/)?/.exec(inner)?.[0] ?? '';
  const captureEnd = group.startsWith('(?:') && inner[prefix.length] === '(' ? groupEnd(inner, prefix.length) : -1;
  const star = captureEnd === -1 ? '' : inner.slice(captureEnd);
  if (captureEnd === -1 || (star !== '' && !/^\(\(\?:\[[^\]]*\]\.\+\?\)\?\)$/.test(star))) {
    // Not a parameter: a group the pattern itself wrote, `/(\\d+)` say. Its captures took key names too.
    names.next += captures(group);
    return group.startsWith('(?:') ? `(${inner})` : group;
  }
  const capture = inner.slice(prefix.length + 1, captureEnd - 1);
  const own = capture === '[^/]+?' || capture === '[^/\\.]+?' || capture.startsWith('(?:(?!') ? '' : `(${capture})`;
  const param = `${prefix.replace(/\\/g, '')}:${name()}${own}`;
  if (star) name();
  return star ? `${param}*` : param;
}

/** How many capturing groups a RegExp source opens (as path-to-regexp 0.1 counts them, to name them). */
function captures(source: string): number {
  let count = 0;
  for (const [token] of source.matchAll(/\\.|\((?!\?)/g)) if (token === '(') count++;
  return count;
}

/** The index just past the group opening at `start` (escapes and character classes skipped), or the text's end. */
function groupEnd(text: string, start: number): number {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') i++;
    else if (c === '[') i = classEnd(text, i);
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i + 1;
  }
  return text.length;
}

function classEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === ']') return i;
  }
  return text.length;
}

/** A RegExp source split at its top-level `|`. */
function splitTopLevel(source: string): string[] {
  const parts: string[] = [];
  let from = 0;
  for (let i = 0, depth = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') i++;
    else if (c === '[') i = classEnd(source, i);
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0) {
      parts.push(source.slice(from, i));
      from = i + 1;
    }
  }
  parts.push(source.slice(from));
  return parts;
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
