import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './free-port.js';
import { isRunning, makeDir, remakeDir, removeDir, track, waitExit, type ServerProcess } from './server-processes.js';
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


/** Spawns `redis-server` on a free port with no persistence and resolves once it answers PING. */
export async function startRedisServer(options: StartRedisServerOptions = {}): Promise<RedisServer> {
  const extraArgs = options.args ?? [];
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const dir = makeDir('erc-redis-');
    try {
      const proc = await launch(port, dir, extraArgs);
      return new ManagedRedisServer(port, dir, extraArgs, proc);
    } catch (err) {
      removeDir(dir);
      // The free port can be taken between probing and binding (parallel test files do this); try another.
      if (!(err instanceof PortInUseError) || attempt >= BIND_ATTEMPTS) throw err;
    }
  }
}

class PortInUseError extends Error {}


class ManagedRedisServer implements RedisServer {
  readonly host = HOST;
  readonly port: number;
  readonly url: string;
  readonly #dir: string;
  readonly #extraArgs: string[];
  #proc: ServerProcess | undefined;

  constructor(port: number, dir: string, extraArgs: string[], proc: ServerProcess) {
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
    removeDir(this.#dir);
  }

  async kill(): Promise<void> {
    const proc = this.#takeRunning();
    if (proc !== undefined) {
      proc.child.kill('SIGKILL');
      await waitExit(proc, EXIT_TIMEOUT_MS);
    }
    removeDir(this.#dir);
  }

  async restart(): Promise<void> {
    await this.stop();
    remakeDir(this.#dir);
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
  #takeRunning(): ServerProcess | undefined {
    const proc = this.#proc;
    this.#proc = undefined;
    return proc && isRunning(proc) ? proc : undefined;
  }
}

/** Spawns redis-server and waits until this very process answers PING. */
async function launch(port: number, dir: string, extraArgs: string[]): Promise<ServerProcess> {
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

async function waitReady(proc: ServerProcess, port: number): Promise<void> {
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

function startError(proc: ServerProcess, port: number, message: string): Error {
  const output = proc.output();
  const full = `${message} on port ${port}.\nredis-server output:\n${output || '(none)'}`;
  return /address already in use/i.test(output) ? new PortInUseError(full) : new Error(full);
}
