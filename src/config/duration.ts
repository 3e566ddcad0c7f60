import { CacheConfigError } from './errors.js';

/**
 * A duration: seconds as a number, or a number with a unit: `'500ms'`, `'30s'`, `'5m'`, `'1h'`, `'1d'`. Anything else
 * (`'5x'`, `'soon'`) is a type error, and a `CacheConfigError` at run time for values that escape the type checker.
 */
export type Duration = number | `${number}${DurationUnit}`;

/** The units a duration string may end in. */
export type DurationUnit = 'ms' | 's' | 'm' | 'h' | 'd';

const UNIT_MS: Readonly<Record<string, number>> = Object.freeze({ ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 });
const PATTERN = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/;

/**
 * Parses a duration into milliseconds, throwing a `CacheConfigError` that names `option` when it cannot.
 * Numbers are seconds, to match Redis `EX` and HTTP `max-age`.
 */
export function parseDuration(value: unknown, option: string, { allowZero = true } = {}): number {
  let ms: number;
  if (typeof value === 'number') {
    ms = value * 1000;
  } else if (typeof value === 'string') {
    const match = PATTERN.exec(value);
    if (!match) {
      throw new CacheConfigError(option, `is ${JSON.stringify(value)}; give seconds as a number or a string like '500ms', '30s', '5m', '1h' or '1d'.`);
    }
    ms = Number(match[1]) * (UNIT_MS[match[2] as string] as number);
  } else {
    throw new CacheConfigError(option, `must be a duration (seconds as a number, or '30s', '5m', …), not ${typeof value}.`);
  }
  if (!Number.isFinite(ms) || ms < 0) {
    throw new CacheConfigError(option, `must be a finite duration of zero or more, not ${String(value)}.`);
  }
  if (!allowZero && ms === 0) {
    throw new CacheConfigError(option, 'must be greater than zero.');
  }
  return Math.round(ms);
}
