// Plain-text tables for the terminal: first column left-aligned, the rest right-aligned.

/** @param {string[]} header @param {string[][]} rows */
export function formatTable(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? (c ?? '').padEnd(widths[i]) : (c ?? '').padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Formats a number with a fixed count of decimals; '-' for missing values. */
export function num(value, decimals = 0) {
  if (value === undefined || value === null || !Number.isFinite(value)) return '-';
  return value.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

/** "0.97 (0.93-1.02)": the median ratio and its range over the rounds. */
export function ratio(median, min, max) {
  if (!Number.isFinite(median)) return '-';
  return `${median.toFixed(2)} (${min.toFixed(2)}-${max.toFixed(2)})`;
}
