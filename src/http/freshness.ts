import type { OutgoingHttpHeaders } from 'node:http';

// How long a response may be used, per RFC 9111 §4.2, from the headers the route produced. Each rule sits beside
// the sentence it implements. Times are epoch milliseconds; durations are milliseconds.

/** Parsed cache directives: lower-cased names; `true` for a directive without a value. */
export type Directives = ReadonlyMap<string, string | true>;

/** RFC 9111 §1.2.2: a delta-seconds too large to represent is taken as 2147483648 (about 68 years). */
const MAX_DELTA_SECONDS = 2_147_483_648;

/**
 * Cache-Control directives (RFC 9111 §5.2): comma-separated `name` or `name=value`, value a token or a quoted-string
 * (a comma or `=` inside quotes belongs to the value). Names compare case-insensitively. When a directive repeats,
 * the first is used (§4.2.1 allows the first, or treating the response as stale).
 */
export function parseCacheControl(value: unknown): Directives {
  const directives = new Map<string, string | true>();
  const text = Array.isArray(value) ? value.join(',') : typeof value === 'string' ? value : '';
  // No whitespace around `=` (the grammar has none): `max-age =60` is not a max-age.
  const pattern = /\s*([^,=\s]+)(?:=("(?:[^"\\]|\\.)*"|[^,]*))?\s*(?:,|$)/y;
  let at = 0;
  while (at < text.length) {
    pattern.lastIndex = at;
    const match = pattern.exec(text);
    if (!match) {
      // A piece that is not a directive: skip to the next comma.
      const comma = text.indexOf(',', at);
      at = comma === -1 ? text.length : comma + 1;
      continue;
    }
    at = pattern.lastIndex;
    const name = (match[1] as string).toLowerCase();
    const raw = match[2];
    if (directives.has(name)) continue;
    directives.set(name, raw === undefined ? true : raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw.trimEnd());
  }
  return directives;
}

/**
 * `CDN-Cache-Control` (RFC 9213): a Structured Fields dictionary (RFC 8941) of the same directives, for caches like
 * this one. Undefined when absent or not a valid dictionary, or when a lifetime is not an integer: the field is then
 * ignored as a whole.
 */
export function parseCdnCacheControl(value: unknown): Directives | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value.join(', ') : String(value);
  const directives = new Map<string, string | true>();
  const member = /^([a-z*][a-z0-9_\-.*]*)(?:=(-?\d{1,15}(?:\.\d{1,3})?|"(?:[^"\\]|\\[\\"])*"|[A-Za-z*][A-Za-z0-9:/!#$%&'*+\-.^_`|~]*|\?[01]|:[A-Za-z0-9+/=]*:))?((?:;[a-z*][a-z0-9_\-.*]*(?:=[^;,]*)?)*)$/;
  for (const part of text.split(',')) {
    const trimmed = part.replace(/^[ \t]+|[ \t]+$/g, '');
    const match = member.exec(trimmed);
    if (!match) return undefined;
    const name = match[1] as string;
    const raw = match[2];
    if ((name === 'max-age' || name === 's-maxage') && (raw === undefined || !/^\d+$/.test(raw))) return undefined;
    if (!directives.has(name)) directives.set(name, raw === undefined || raw === '?1' ? true : raw);
  }
  return directives;
}

/**
 * The directives this cache follows: `CDN-Cache-Control` when the response has a valid one (RFC 9213: a cache that
 * uses it ignores `Cache-Control` and `Expires`), else `Cache-Control`.
 */
export function effectiveDirectives(headers: OutgoingHttpHeaders): { readonly directives: Directives; readonly targeted: boolean } {
  const cdn = parseCdnCacheControl(headers['cdn-cache-control']);
  return cdn ? { directives: cdn, targeted: true } : { directives: parseCacheControl(headers['cache-control']), targeted: false };
}

/** A delta-seconds directive in milliseconds; undefined when absent, NaN when present but not delta-seconds. */
export function deltaSecondsMs(directives: Directives, name: string): number | undefined {
  const value = directives.get(name);
  if (value === undefined) return undefined;
  // A negative, fractional, single-quoted or empty value is not delta-seconds (§1.2.2): the caller treats it as stale.
  if (typeof value !== 'string' || !/^\d+$/.test(value)) return Number.NaN;
  return Math.min(Number(value), MAX_DELTA_SECONDS) * 1000;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const LONG_DAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];
// RFC 9110 §5.6.7: IMF-fixdate, the obsolete RFC 850 form, and asctime. Names compare case-insensitively.
const IMF_FIXDATE = /^([a-z]{3}), (\d{2}) ([a-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) gmt$/i;
const RFC_850 = /^([a-z]{6,9}), (\d{2})-([a-z]{3})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) gmt$/i;
const ASCTIME = /^([a-z]{3}) ([a-z]{3}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/i;

/** An HTTP-date in epoch milliseconds, or undefined when it is not one of the three forms RFC 9110 allows. */
export function parseHttpDate(text: string): number | undefined {
  let parts: [day: string, dayOfMonth: string, month: string, year: number, h: string, m: string, s: string] | undefined;
  let match = IMF_FIXDATE.exec(text);
  if (match && DAYS.includes((match[1] as string).toLowerCase())) {
    parts = [match[1] as string, match[2] as string, match[3] as string, Number(match[4]), match[5] as string, match[6] as string, match[7] as string];
  } else if ((match = RFC_850.exec(text)) && LONG_DAYS.includes((match[1] as string).toLowerCase())) {
    // A two-digit year more than 50 years in the future is in the past century (RFC 9110 §5.6.7).
    const yy = Number(match[4]);
    const thisYear = new Date().getUTCFullYear();
    let year = 2000 + yy;
    if (year > thisYear + 50) year -= 100;
    parts = [match[1] as string, match[2] as string, match[3] as string, year, match[5] as string, match[6] as string, match[7] as string];
  } else if ((match = ASCTIME.exec(text)) && DAYS.includes((match[1] as string).toLowerCase())) {
    parts = [match[1] as string, (match[3] as string).trim(), match[2] as string, Number(match[7]), match[4] as string, match[5] as string, match[6] as string];
  }
  if (!parts) return undefined;
  const [, dayOfMonth, monthName, year, h, m, s] = parts;
  const month = MONTHS.indexOf(monthName.toLowerCase());
  const day = Number(dayOfMonth);
  const [hours, minutes, seconds] = [Number(h), Number(m), Number(s)];
  if (month === -1 || day < 1 || day > 31 || hours > 23 || minutes > 59 || seconds > 60) return undefined;
  const time = Date.UTC(year, month, day, hours, minutes, Math.min(seconds, 59));
  return new Date(time).getUTCDate() === day ? time : undefined;
}

/** A header holding one HTTP-date; undefined when absent, NaN when invalid or on several lines. */
function singleDate(value: OutgoingHttpHeaders[string]): number | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return value.length === 1 ? parseHttpDate(String(value[0])) ?? Number.NaN : Number.NaN;
  return parseHttpDate(String(value)) ?? Number.NaN;
}

/**
 * The `Age` a response arrived with (RFC 9111 §5.1), in milliseconds: the first value of the first line; a value that
 * is not delta-seconds is ignored; one too large counts as 2147483648 seconds.
 */
export function ageValueMs(value: OutgoingHttpHeaders[string]): number {
  if (value === undefined) return 0;
  const first = String(Array.isArray(value) ? value[0] : value).split(',')[0]?.trim() ?? '';
  if (!/^\d+$/.test(first)) return 0;
  return Math.min(Number(first), MAX_DELTA_SECONDS) * 1000;
}

/** When the cache asked for a response and when it came (epoch milliseconds). */
export interface ResponseTimes {
  readonly requestTime: number;
  readonly responseTime: number;
}

/**
 * The response's age when it arrived, RFC 9111 §4.2.3: the larger of its apparent age (by its `Date`) and its `Age`
 * plus the time it took to come.
 */
export function initialAgeMs(headers: OutgoingHttpHeaders, { requestTime, responseTime }: ResponseTimes): number {
  const date = singleDate(headers['date']);
  const apparentAge = date === undefined || Number.isNaN(date) ? 0 : Math.max(0, responseTime - date);
  const correctedAgeValue = ageValueMs(headers['age']) + Math.max(0, responseTime - requestTime);
  return Math.max(apparentAge, correctedAgeValue);
}

/**
 * The freshness lifetime the response itself gives, RFC 9111 §4.2.1, for a shared cache: `s-maxage`, else `max-age`
 * (of `CDN-Cache-Control` when valid, else of `Cache-Control`), else `Expires` minus `Date`. 0 for a lifetime given
 * wrongly (an invalid `max-age`, an `Expires` that is not one HTTP-date: §5.3 "already expired"); undefined when it
 * gives none (a cache may then use a heuristic).
 */
export function explicitLifetimeMs(headers: OutgoingHttpHeaders, directives: Directives, targeted: boolean, responseTime: number): number | undefined {
  for (const name of ['s-maxage', 'max-age']) {
    const ms = deltaSecondsMs(directives, name);
    if (ms !== undefined) return Number.isNaN(ms) ? 0 : ms;
  }
  if (targeted) return undefined;
  const expires = singleDate(headers['expires']);
  if (expires === undefined) return undefined;
  if (Number.isNaN(expires)) return 0;
  const date = singleDate(headers['date']);
  return Math.max(0, expires - (date === undefined || Number.isNaN(date) ? responseTime : date));
}

/**
 * RFC 9110 §15.1: statuses a cache may store with a heuristic lifetime when the response gives none.
 */
export const HEURISTICALLY_CACHEABLE: ReadonlySet<number> = new Set([200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501]);
