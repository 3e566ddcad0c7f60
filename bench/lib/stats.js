// Small order statistics over plain number arrays.

/** @param {number[]} values */
export function median(values) {
  return percentile(values, 50);
}

/** Nearest-rank percentile of unsorted values; NaN for an empty list. */
export function percentile(values, p) {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return NaN;
  const sorted = Float64Array.from(finite).sort();
  if (p === 50 && sorted.length % 2 === 0) return (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** @param {number[]} values */
export function spread(values) {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return { min: NaN, max: NaN };
  return { min: Math.min(...finite), max: Math.max(...finite) };
}
