import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';

/** One request as the load saw it. */
export interface RequestRecord {
  readonly path: string;
  /** The phase that was current when the request started (see {@link LoadRun.mark}). */
  readonly phase: string;
  /** HTTP status, or 0 when no response came (timeout, reset, refused). */
  readonly status: number;
  /** Why no response came, when status is 0. */
  readonly error: string | undefined;
  /** The body was the right one for `path`. */
  readonly bodyOk: boolean;
  /** The response body as text ('' when no response came). */
  readonly body: string;
  /** The `X-Cache` header ('' when absent). */
  readonly xCache: string;
  /** Epoch ms when the request was sent and when it finished. */
  readonly startedAt: number;
  readonly endedAt: number;
  readonly latencyMs: number;
}

/** Figures for a set of requests (the whole run or one phase). */
export interface LoadSlice {
  readonly count: number;
  /** Responses with a 5xx status. */
  readonly serverErrors: number;
  /** Requests that got no response at all (timed out, reset, refused). */
  readonly failures: number;
  /** Responses (of any status) whose body was not the one for their URL. */
  readonly wrongBodies: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Responses by `X-Cache` value ('' for none). */
  readonly xCache: Readonly<Record<string, number>>;
  /** The slowest request, for failure messages. */
  readonly slowest: RequestRecord | undefined;
}

export interface LoadSummary extends LoadSlice {
  readonly phases: Readonly<Record<string, LoadSlice>>;
  readonly records: readonly RequestRecord[];
}

export interface LoadOptions {
  /** `http://127.0.0.1:PORT` */
  readonly baseUrl: string;
  /** Paths to request, handed out round-robin across all workers. */
  readonly paths: readonly string[];
  /** Whether `body` is the right answer for `path`. */
  readonly expectBody: (path: string, body: string) => boolean;
  /** Concurrent workers, each with one request in flight at a time. */
  readonly workers: number;
  /** Stop starting requests after this long. At least one of `durationMs`, `count` or `stop()` must end the run. */
  readonly durationMs?: number;
  /** Stop after this many requests in all. */
  readonly count?: number;
  /** A request with no complete response by then is destroyed and counted as a failure. @default 2000 */
  readonly timeoutMs?: number;
  /** Name of the first phase. @default 'run' */
  readonly phase?: string;
  /**
   * A keep-alive agent to send through, e.g. one whose sockets a previous run already opened, so that many requests
   * reach the server at the same moment. Left open. @default a fresh agent, destroyed at the end
   */
  readonly agent?: Agent;
  /** Extra request headers, e.g. one `Host` for several servers that must share cache keys. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** A load run in progress. */
export interface LoadRun {
  /** Requests started from now on belong to `phase`. */
  mark(phase: string): void;
  /** Starts no more requests; `done` settles once those in flight finish. */
  stop(): void;
  /** Settles with the figures once every worker has finished. Never rejects. */
  readonly done: Promise<LoadSummary>;
}

/**
 * Runs N concurrent workers against an HTTP server, each sending its next request as soon as the previous one
 * finishes. Every request has a hard timeout, so a hung server shows up as failures instead of hanging the test.
 */
export function startLoad(options: LoadOptions): LoadRun {
  if (options.paths.length === 0) throw new TypeError('load: paths must not be empty');
  if (options.durationMs === undefined && options.count === undefined) {
    // stop() still ends it, but a forgotten stop() would run forever: insist on a bound.
    throw new TypeError('load: give durationMs or count');
  }
  const timeoutMs = options.timeoutMs ?? 2000;
  const agent = options.agent ?? new Agent({ keepAlive: true, maxSockets: options.workers });
  const records: RequestRecord[] = [];
  let phase = options.phase ?? 'run';
  let issued = 0;
  let stopped = false;
  const endAt = options.durationMs === undefined ? Infinity : performance.now() + options.durationMs;

  const nextPath = (): string | undefined => {
    if (stopped || performance.now() >= endAt) return undefined;
    if (options.count !== undefined && issued >= options.count) return undefined;
    return options.paths[issued++ % options.paths.length];
  };
  const worker = async (): Promise<void> => {
    for (let path = nextPath(); path !== undefined; path = nextPath()) {
      records.push(await send(agent, options, path, phase, timeoutMs));
    }
  };
  const done = Promise.all(Array.from({ length: options.workers }, worker)).then(() => {
    if (!options.agent) agent.destroy();
    return summarise(records);
  });
  return {
    mark: (next) => void (phase = next),
    stop: () => void (stopped = true),
    done,
  };
}

/** Runs a load to its end and returns its figures. */
export function runLoad(options: LoadOptions): Promise<LoadSummary> {
  return startLoad(options).done;
}

function send(agent: Agent, options: LoadOptions, path: string, phase: string, timeoutMs: number): Promise<RequestRecord> {
  const startedAt = Date.now();
  const started = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    const finish = (status: number, body: string, xCache: string, error: string | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const latencyMs = performance.now() - started;
      const bodyOk = status !== 0 && options.expectBody(path, body);
      resolve({ path, phase, status, error, bodyOk, body, xCache, startedAt, endedAt: startedAt + latencyMs, latencyMs });
    };
    const req = request(`${options.baseUrl}${path}`, { agent, headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const xCache = res.headers['x-cache'];
        finish(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'), typeof xCache === 'string' ? xCache : '', undefined);
      });
      res.on('error', (err) => finish(0, '', '', err.message));
    });
    const timer = setTimeout(() => {
      req.destroy(new Error(`no complete response in ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('error', (err) => finish(0, '', '', err.message));
    req.end();
  });
}

/** Figures for the whole run and for each phase, in the order the phases began. */
export function summarise(records: readonly RequestRecord[]): LoadSummary {
  const byPhase = new Map<string, RequestRecord[]>();
  for (const record of records) {
    let list = byPhase.get(record.phase);
    if (!list) byPhase.set(record.phase, (list = []));
    list.push(record);
  }
  const phases: Record<string, LoadSlice> = {};
  for (const [name, list] of byPhase) phases[name] = slice(list);
  return { ...slice(records), phases, records };
}

export function slice(records: readonly RequestRecord[]): LoadSlice {
  const latencies = records.map((r) => r.latencyMs).sort((a, b) => a - b);
  const xCache: Record<string, number> = {};
  let slowest: RequestRecord | undefined;
  for (const record of records) {
    xCache[record.xCache] = (xCache[record.xCache] ?? 0) + 1;
    if (!slowest || record.latencyMs > slowest.latencyMs) slowest = record;
  }
  return {
    count: records.length,
    serverErrors: records.filter((r) => r.status >= 500).length,
    failures: records.filter((r) => r.status === 0).length,
    wrongBodies: records.filter((r) => !r.bodyOk).length,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    maxMs: latencies.at(-1) ?? 0,
    xCache,
    slowest,
  };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? 0;
}

/** One line per phase: count, errors, latency and X-Cache mix, for logs and assertion messages. */
export function describeLoad(summary: LoadSummary): string {
  const line = (name: string, s: LoadSlice): string => {
    const mix = Object.entries(s.xCache).map(([k, v]) => `${k || 'none'}=${v}`).join(' ');
    return `${name}: n=${s.count} 5xx=${s.serverErrors} failed=${s.failures} wrong=${s.wrongBodies} `
      + `p50=${s.p50Ms.toFixed(1)}ms p99=${s.p99Ms.toFixed(1)}ms max=${s.maxMs.toFixed(1)}ms [${mix}]`;
  };
  return [line('all', summary), ...Object.entries(summary.phases).map(([name, s]) => line(`  ${name}`, s))].join('\n');
}
