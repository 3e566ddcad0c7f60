// Request path generators for the load patterns. Each returns a fresh generator so rounds start alike.

/** One URL, always the same. */
export const HOT_PATH = '/item/1';

/** Cycles through `count` distinct URLs: /item/0 ... /item/(count-1). */
export function spreadPaths(count) {
  let i = 0;
  return () => `/item/${i++ % count}`;
}

/** A URL never seen before on every call, so every request misses. `tag` keeps runs apart. */
export function missPaths(tag) {
  let i = 0;
  return () => `/item/${i % 1000}?miss=${tag}-${i++}`;
}

/** Distinct URLs for filling a cache: `prefix` keeps the warm-up set apart from the measured set. */
export function fillPaths(prefix) {
  let i = 0;
  return () => `/item/${prefix}${i++}`;
}
