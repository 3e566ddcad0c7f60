/**
 * A strict reader of the Prometheus text exposition format (version 0.0.4), written for the tests: it throws on
 * anything a scraper would reject or misread, so "it parses" means something.
 */

export type FamilyType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface PromSample {
  /** The sample's own name, e.g. `x_bucket` for a histogram family `x`. */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface PromFamily {
  readonly name: string;
  readonly help: string;
  readonly type: FamilyType;
  readonly samples: PromSample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set<FamilyType>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/** Parses an exposition and checks histograms; returns the families by name. */
export function parsePrometheusText(text: string): Map<string, PromFamily> {
  const families = new Map<string, PromFamily>();
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((line, index) => {
    const where = `line ${index + 1}: ${JSON.stringify(line)}`;
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!meta) return; // a plain comment
      const [, kind, name, rest] = meta as unknown as [string, 'HELP' | 'TYPE', string, string];
      if (!NAME.test(name)) throw new Error(`bad metric name, ${where}`);
      const family = families.get(name) ?? { name, help: '', type: 'untyped' as FamilyType, samples: [] };
      if (family.samples.length > 0) throw new Error(`${kind} after samples of ${name}, ${where}`);
      if (kind === 'TYPE') {
        if (!TYPES.has(rest as FamilyType)) throw new Error(`unknown type, ${where}`);
        families.set(name, { ...family, type: rest as FamilyType });
      } else {
        families.set(name, { ...family, help: unescape(rest, false) });
      }
      return;
    }
    const sample = parseSample(line, where);
    const family = familyOf(families, sample.name);
    if (!family) throw new Error(`sample without a HELP/TYPE family, ${where}`);
    family.samples.push(sample);
  });
  for (const family of families.values()) {
    if (family.type === 'histogram') checkHistogram(family);
  }
  return families;
}

/** The value of the one sample named `name` whose labels include `labels`; throws if none or several match. */
export function sampleValue(families: Map<string, PromFamily>, name: string, labels: Record<string, string> = {}): number {
  const family = familyOf(families, name);
  const matches = (family?.samples ?? []).filter((s) => s.name === name
    && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (matches.length !== 1) throw new Error(`${matches.length} samples of ${name} ${JSON.stringify(labels)}`);
  return (matches[0] as PromSample).value;
}

function familyOf(families: Map<string, PromFamily>, sampleName: string): PromFamily | undefined {
  const exact = families.get(sampleName);
  if (exact) return exact;
  const suffix = /^(.*)_(bucket|sum|count)$/.exec(sampleName);
  const family = suffix ? families.get(suffix[1] as string) : undefined;
  if (family?.type === 'histogram') return family;
  if (family?.type === 'summary' && suffix?.[2] !== 'bucket') return family;
  return undefined;
}

function parseSample(line: string, where: string): PromSample {
  const head = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
  if (!head) throw new Error(`bad sample name, ${where}`);
  const name = head[1] as string;
  let i = name.length;
  const labels: Record<string, string> = {};
  if (line[i] === '{') {
    i++;
    while (line[i] !== '}') {
      const label = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(line.slice(i));
      if (!label || !LABEL_NAME.test(label[1] as string)) throw new Error(`bad label at column ${i}, ${where}`);
      i += label[0].length;
      let raw = '';
      while (i < line.length && line[i] !== '"') {
        if (line[i] === '\\') raw += line[i++];
        raw += line[i++];
      }
      if (line[i] !== '"') throw new Error(`unterminated label value, ${where}`);
      i++;
      if ((label[1] as string) in labels) throw new Error(`repeated label ${label[1]}, ${where}`);
      labels[label[1] as string] = unescape(raw, true);
      if (line[i] === ',') i++;
      else if (line[i] !== '}') throw new Error(`expected , or } at column ${i}, ${where}`);
    }
    i++;
  }
  const rest = /^ (\S+)(?: (-?\d+))?$/.exec(line.slice(i));
  if (!rest) throw new Error(`bad value part, ${where}`);
  const value = parseValue(rest[1] as string);
  if (value === undefined) throw new Error(`bad value ${rest[1]}, ${where}`);
  return { name, labels, value };
}

function parseValue(text: string): number | undefined {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  return /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text) ? Number(text) : undefined;
}

function unescape(text: string, quoted: boolean): string {
  return text.replace(/\\(.)/g, (whole, c: string) => {
    if (c === 'n') return '\n';
    if (c === '\\') return '\\';
    if (c === '"' && quoted) return '"';
    return whole;
  });
}

/**
 * Per label set (without `le`): buckets in ascending `le`, counts never decreasing, the last one `+Inf` and equal to
 * `_count`, and a `_sum` present.
 */
function checkHistogram(family: PromFamily): void {
  const groups = new Map<string, { buckets: { le: number; value: number }[]; sum?: number; count?: number }>();
  for (const sample of family.samples) {
    const { le, ...rest } = sample.labels;
    const id = JSON.stringify(Object.entries(rest).sort());
    let group = groups.get(id);
    if (!group) groups.set(id, (group = { buckets: [] }));
    if (sample.name === `${family.name}_bucket`) {
      if (le === undefined) throw new Error(`${family.name}_bucket without le`);
      const bound = parseValue(le);
      if (bound === undefined || Number.isNaN(bound)) throw new Error(`${family.name}: bad le ${le}`);
      group.buckets.push({ le: bound, value: sample.value });
    } else if (sample.name === `${family.name}_sum`) {
      group.sum = sample.value;
    } else if (sample.name === `${family.name}_count`) {
      group.count = sample.value;
    } else {
      throw new Error(`${family.name}: unexpected sample ${sample.name}`);
    }
  }
  for (const [id, group] of groups) {
    const what = `${family.name} ${id}`;
    if (group.buckets.length === 0) throw new Error(`${what}: no buckets`);
    group.buckets.forEach((bucket, i) => {
      const previous = group.buckets[i - 1];
      if (previous && !(bucket.le > previous.le)) throw new Error(`${what}: le not ascending at ${bucket.le}`);
      if (previous && bucket.value < previous.value) throw new Error(`${what}: bucket ${bucket.le} below the one before`);
    });
    const last = group.buckets.at(-1) as { le: number; value: number };
    if (last.le !== Infinity) throw new Error(`${what}: last bucket is not +Inf`);
    if (group.count === undefined || group.sum === undefined) throw new Error(`${what}: missing _count or _sum`);
    if (last.value !== group.count) throw new Error(`${what}: +Inf bucket ${last.value} != _count ${group.count}`);
  }
}
