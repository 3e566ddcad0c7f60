import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './free-port.js';
import { replyToString, sendCommand } from './resp.js';

/** A private `redis-server` owned by one test file. */
export interface RedisServer {
  readonly port: number;
  readonly host: '127.0.0.1';
  /** `redis://127.0.0.1:PORT` */
  readonly url: string;
  /** Clean shutdown (SIGTERM, nothing saved); waits for exit. Safe to call twice or after {@link kill}. */
  stop(): Promise<void>;
  /** SIGKILL and wait for exit: a crash, with no goodbye to connected clients. */
  kill(): Promise<void>;
  /** Starts again on the same port (stopping first if still running); resolves once PING answers. */
  restart(): Promise<void>;
  /** SIGSTOP: sockets stay open and connectable, nothing answers. */
  pause(): void;
  /** SIGCONT after {@link pause}. */
  resume(): void;
  /**
   * Runs one command over a fresh socket, e.g. `command('CONFIG', 'SET', 'maxmemory', '1mb')`.
   * Resolves with the reply as text (arrays joined with `\n`, nil as `''`); rejects on an error reply.
   */
  command(...args: string[]): Promise<string>;
}

/** Options for {@link startRedisServer}. */
export interface StartRedisServerOptions {
  /** Extra `redis-server` arguments, appended last so they override the defaults (e.g. `['--maxmemory', '1mb']`). */
  args?: string[];
}

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 10_000;
const EXIT_TIMEOUT_MS = 10_000;
const COMMAND_TIMEOUT_MS = 5_000;
const BIND_ATTEMPTS = 5;
const OUTPUT_TAIL_CHARS = 4_000;

/** Every redis-server child still alive in this process, so nothing outlives a crashed test. */
const live = new Set<ChildProcess>();
const liveDirs = new Set<string>();
let cleanupInstalled = false;

/** Spawns `redis-server` on a free port with no persistence and resolves once it answers PING. */
export async function startRedisServer(options: StartRedisServerOptions = {}): Promise<RedisServer> {
  installCleanup();
  const extraArgs = options.args ?? [];
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'erc-redis-'));
    liveDirs.add(dir);
    try {
      const proc = await launch(port, dir, extraArgs);
      return new ManagedRedisServer(port, dir, extraArgs, proc);
    } catch (err) {
      rmDir(dir);
      // The free port can be taken between probing and binding (parallel test files do this); try another.
      if (!(err instanceof PortInUseError) || attempt >= BIND_ATTEMPTS) throw err;
    }
  }
}

class PortInUseError extends Error {}

/** A spawned child plus what it printed, kept for error messages. */
interface Proc {
  child: ChildProcess;
  exited: Promise<void>;
  output: () => string;
}

class ManagedRedisServer implements RedisServer {
  readonly host = HOST;
  readonly port: number;
  readonly url: string;
  readonly #dir: string;
  readonly #extraArgs: string[];
  #proc: Proc | undefined;

  constructor(port: number, dir: string, extraArgs: string[], proc: Proc) {
    this.port = port;
    this.url = `redis://${HOST}:${port}`;
    this.#dir = dir;
    this.#extraArgs = extraArgs;
    this.#proc = proc;
  }

  async stop(): Promise<void> {
    const proc = this.#takeRunning();
    if (proc !== undefined) {
      proc.child.kill('SIGCONT'); // a paused process would hold SIGTERM pending forever
      proc.child.kill('SIGTERM');
      await waitExit(proc, EXIT_TIMEOUT_MS);
    }
    rmDir(this.#dir);
  }

  async kill(): Promise<void> {
    const proc = this.#takeRunning();
    if (proc !== undefined) {
      proc.child.kill('SIGKILL');
      await waitExit(proc, EXIT_TIMEOUT_MS);
    }
    rmDir(this.#dir);
  }

  async restart(): Promise<void> {
    await this.stop();
    mkdirSync(this.#dir, { recursive: true });
    liveDirs.add(this.#dir);
    // The port was ours a moment ago; if something grabbed it meanwhile, wait briefly for it to go.
    for (let attempt = 1; ; attempt++) {
      try {
        this.#proc = await launch(this.port, this.#dir, this.#extraArgs);
        return;
      } catch (err) {
        if (!(err instanceof PortInUseError) || attempt >= BIND_ATTEMPTS) throw err;
        await sleep(200);
      }
    }
  }

  pause(): void {
    this.#signal('SIGSTOP');
  }

  resume(): void {
    this.#signal('SIGCONT');
  }

  async command(...args: string[]): Promise<string> {
    const reply = await sendCommand({ host: HOST, port: this.port, timeoutMs: COMMAND_TIMEOUT_MS }, args);
    return replyToString(reply);
  }

  #signal(signal: NodeJS.Signals): void {
    if (this.#proc === undefined) throw new Error(`redis-server on port ${this.port} is not running`);
    this.#proc.child.kill(signal);
  }

  /** Detaches the running process (if any) so repeated stop()/kill() calls are no-ops. */
  #takeRunning(): Proc | undefined {
    const proc = this.#proc;
    this.#proc = undefined;
    return proc?.child.exitCode === null && proc.child.signalCode === null ? proc : undefined;
  }
}

/** Spawns redis-server and waits until this very process answers PING. */
async function launch(port: number, dir: string, extraArgs: string[]): Promise<Proc> {
  const args = ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no', '--dir', dir, ...extraArgs];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const proc = track(child);
  try {
    await waitReady(proc, port);
    return proc;
  } catch (err) {
    child.kill('SIGKILL');
    await waitExit(proc, EXIT_TIMEOUT_MS).catch(() => undefined);
    throw err;
  }
}

/** Registers a child for exit cleanup and records the tail of its output. */
function track(child: ChildProcess): Proc {
  let output = '';
  const record = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
  };
  child.stdout?.on('data', record);
  child.stderr?.on('data', record);
  live.add(child);
  const exited = new Promise<void>((resolve) => {
    child.once('error', (err) => {
      record(Buffer.from(`\nspawn error: ${err.message}\n`));
      live.delete(child);
      resolve();
    });
    child.once('exit', () => {
      live.delete(child);
      resolve();
    });
  });
  // A test that forgets stop() must not hang its file; the exit hook below still kills the child.
  child.unref();
  unrefStream(child.stdout);
  unrefStream(child.stderr);
  return { child, exited, output: () => output };
}

function unrefStream(stream: unknown): void {
  (stream as { unref?: () => void } | null)?.unref?.();
}

async function waitReady(proc: Proc, port: number): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastError = 'no attempt yet';
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null || proc.child.pid === undefined) {
      await proc.exited;
      throw startError(proc, port, 'redis-server exited before answering PING');
    }
    try {
      // Another server (say, a parallel test file's) may own this port; only our own pid counts as ready.
      const info = replyToString(await sendCommand({ host: HOST, port, timeoutMs: 500 }, ['INFO', 'server']));
      if (info.includes(`process_id:${proc.child.pid}\r\n`)) return;
      lastError = 'port answered, but by another process';
    } catch (err) {
      lastError = (err as Error).message;
    }
    await sleep(20);
  }
  throw startError(proc, port, `redis-server did not answer within ${READY_TIMEOUT_MS} ms (last: ${lastError})`);
}

function startError(proc: Proc, port: number, message: string): Error {
  const output = proc.output();
  const full = `${message} on port ${port}.\nredis-server output:\n${output || '(none)'}`;
  return /address already in use/i.test(output) ? new PortInUseError(full) : new Error(full);
}

/** Waits for exit; if a clean shutdown hangs, falls back to SIGKILL so a test never blocks forever. */
async function waitExit(proc: Proc, timeoutMs: number): Promise<void> {
  proc.child.ref(); // keep the event loop alive while a caller awaits this
  try {
    const timedOut = await Promise.race([proc.exited.then(() => false), sleep(timeoutMs, true, { ref: false })]);
    if (timedOut) {
      proc.child.kill('SIGKILL');
      await proc.exited;
    }
  } finally {
    proc.child.unref();
  }
}

function rmDir(dir: string): void {
  liveDirs.delete(dir);
  rmSync(dir, { recursive: true, force: true });
}

function killAll(): void {
  for (const child of live) child.kill('SIGKILL');
  live.clear();
  for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
  liveDirs.clear();
}

function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.once('exit', killAll);
  // 'exit' does not run when a signal ends the process, so clean up and then die by the same signal.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAll();
      process.kill(process.pid, signal);
    });
  }
}
