import type { CacheCore } from '../core.js';
import { CacheConfigError } from '../config/errors.js';
import { suggest } from '../config/suggest.js';
import { canonicalUrlOf } from '../http/keys.js';

/** What to remove: any mix of keys, route keys, tags and names. */
export interface InvalidateOptions {
  /**
   * `getOrSet` keys, and absolute URLs of cached responses (`https://api.example.com/users/42?lang=en`): a key that
   * starts with `http://` or `https://` is a URL, anything else a `getOrSet` key.
   */
  keys?: readonly string[];
  /** What a route's own `key(req)` returned for the entries to remove, e.g. `['user:42']`. */
  routeKeys?: readonly string[];
  /** Tags given to `cache.route({ tags })` or `getOrSet(…, { tags })`. */
  tags?: readonly string[];
  /** Counter names (route names, path patterns, `getOrSet` names): every entry stored under them. */
  names?: readonly string[];
}

/**
 * Removes entries from both tiers. Resolves once the memory tier is clean and Redis has applied it, or, when Redis is
 * out, once the removal is queued to be applied the moment Redis answers again (before any request reads from it).
 */
export async function invalidate(core: CacheCore, what: InvalidateOptions): Promise<number> {
  if (typeof what !== 'object' || what === null) {
    throw new CacheConfigError('invalidate', 'takes { keys?, routeKeys?, tags?, names? }, each an array of strings.');
  }
  for (const field of Object.keys(what)) {
    if (FIELDS.includes(field)) continue;
    const guess = suggest(field, FIELDS);
    throw new CacheConfigError(`invalidate ${field}`, `is not a field${guess ? `; did you mean \`${guess}\`?` : ` (${FIELDS.join(', ')})`}.`);
  }
  const requestKeys = core.requestKeys;
  const keys = strings(what.keys, 'keys').map((key) => {
    if (!/^https?:\/\//i.test(key)) return core.keys.value(key);
    const url = canonicalUrlOf(key);
    // A URL no request could be keyed by (its host is not a host) has no entry.
    return url === undefined ? undefined : requestKeys.ofCanonical(url).key;
  }).filter((key): key is string => key !== undefined);
  for (const routeKey of strings(what.routeKeys, 'routeKeys')) keys.push(requestKeys.ofRouteKey(routeKey).key);
  const names = strings(what.names, 'names');
  core.fills.forgetReleased();
  core.values.forgetReleased();
  return core.store.invalidate({
    keys,
    tagKeys: strings(what.tags, 'tags').map((tag) => core.keys.tag(tag)),
    names,
    nameKeys: names.map((name) => core.keys.name(name)),
  });
}

const FIELDS = ['keys', 'routeKeys', 'tags', 'names'];

function strings(value: unknown, option: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new CacheConfigError(`invalidate ${option}`, 'must be an array of strings.');
  }
  return value;
}
