import type { CacheCore } from '../core.js';
import { CacheConfigError } from '../config/errors.js';
import { canonicalUrlOf } from '../http/keys.js';
import { digest } from '../stores/key-space.js';

/** What to remove: any mix of keys, tags and names. */
export interface InvalidateOptions {
  /** `getOrSet` keys, and absolute URLs of cached responses (`https://api.example.com/users/42?lang=en`). */
  keys?: readonly string[];
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
    throw new CacheConfigError('invalidate', 'takes { keys?, tags?, names? }, each an array of strings.');
  }
  const keys = strings(what.keys, 'keys').map((key) => {
    const url = canonicalUrlOf(key);
    return url === undefined ? core.keys.value(key) : core.keys.response(digest(url));
  });
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

function strings(value: unknown, option: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new CacheConfigError(`invalidate ${option}`, 'must be an array of strings.');
  }
  return value;
}
