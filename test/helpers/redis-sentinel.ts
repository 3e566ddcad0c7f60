import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './free-port.js';
import { startRedisServer, type RedisServer } from './redis-server.js';
import { replyToString, sendCommand, type RespValue } from './resp.js';
import { isRunning, makeDir, removeDir, track, waitExit, type ServerProcess } from './server-processes.js';

/** A `host:port` pair, as ioredis's `sentinels` option and `SENTINEL GET-MASTER-ADDR-BY-NAME` give them. */
export interface Address {
  readonly host: string;
  readonly port: number;
}

/** A primary, one replica and three Sentinels, all private to one test file. */
export interface RedisSentinelSetup {
  /** The name the Sentinels monitor the primary under: `mymaster`. */
  readonly name: string;
  /** The Sentinels' addresses, for ioredis's `sentinels` option. */
  readonly sentinels: readonly Address[];
  /** The data nodes: the first primary, then its replica (roles change with a failover). */
  readonly nodes: readonly RedisServer[];
  /** The primary's address, asked of the first Sentinel that answers. */
  primaryAddress(): Promise<Address>;
  /** The data node a Sentinel names as primary. */
  primary(): Promise<RedisServer>;
  /** SIGKILLs the current primary (a crash: no goodbye to its clients); resolves with its address once it is dead. */
  killPrimary(): Promise<Address>;
  /**
   * Resolves once a Sentinel names a primary other than `old` (the failover is done: the replica was promoted) and
   * then once all of them (but paused ones) do. Rejects after `timeoutMs`.
   */
  waitForFailover(old: Address, timeoutMs?: number): Promise<Failover>;
  /** SIGSTOPs Sentinel `index`: its sockets stay open and connectable, it answers nothing. */
  pauseSentinel(index: number): void;
  /** SIGCONT after {@link pauseSentinel}. */
  resumeSentinel(index: number): void;
  /** Kills the Sentinels first (so none starts a failover while the nodes go), then stops the nodes. */
  stop(): Promise<void>;
}

/** What {@link RedisSentinelSetup.waitForFailover} saw. */
export interface Failover {
  readonly primary: Address;
  /** Epoch ms when a Sentinel first named the new primary. */
  readonly at: number;
  /** Epoch ms when every Sentinel named it. */
  readonly agreedAt: number;
}

const HOST = '127.0.0.1';
const NAME = 'mymaster';
const SENTINELS = 3;
const QUORUM = 2;
/** A primary that answers no PING for this long is subjectively down (the default, 30 s, is far too long for a test). */
const DOWN_AFTER_MS = 1000;
/**
 * Bounds each failover step; a failed leader election is retried after twice this. Low so that a split vote among the
 * three Sentinels (each may start an election at nearly the same moment) costs seconds, not minutes.
 */
const FAILOVER_TIMEOUT_MS = 2000;
const SETTLE_TIMEOUT_MS = 20_000;
const READY_TIMEOUT_MS = 10_000;
const COMMAND_TIMEOUT_MS = 2_000;
const POLL_MS = 20;
const BIND_ATTEMPTS = 5;
const EXIT_TIMEOUT_MS = 10_000;


/**
 * Starts a primary and a replica (`--replicaof`) on free ports, then three Sentinels (`redis-server <conf> --sentinel`)
 * monitoring the primary as `mymaster` with quorum 2, and waits until every Sentinel sees the primary, the replica
 * (linked and in sync) and the two other Sentinels: only then can a failover succeed.
 */
export async function startRedisSentinel(): Promise<RedisSentinelSetup> {
  const nodes: RedisServer[] = [];
  const sentinels: SentinelProcess[] = [];
  try {
    const primary = await startRedisServer();
    nodes.push(primary);
    nodes.push(await startRedisServer({ args: ['--replicaof', HOST, String(primary.port)] }));
    for (let i = 0; i < SENTINELS; i++) sentinels.push(await startSentinel(primary.port));
    await waitSettled(sentinels, nodes);
  } catch (error) {
    await Promise.all(sentinels.map((sentinel) => sentinel.kill()));
    await Promise.all(nodes.map((node) => node.stop()));
    throw error;
  }
  return new SentinelSetup(nodes, sentinels);
}

class SentinelSetup implements RedisSentinelSetup {
  readonly name = NAME;
  readonly nodes: readonly RedisServer[];
  readonly sentinels: readonly Address[];
  readonly #processes: readonly SentinelProcess[];
  /** Paused Sentinels answer nothing: they are not asked, so no question waits out its timeout on them. */
  readonly #paused = new Set<SentinelProcess>();

  constructor(nodes: readonly RedisServer[], processes: readonly SentinelProcess[]) {
    this.nodes = nodes;
    this.#processes = processes;
    this.sentinels = processes.map((sentinel) => ({ host: HOST, port: sentinel.port }));
  }

  async primaryAddress(): Promise<Address> {
    let lastError: unknown;
    for (const sentinel of this.#answering()) {
      try {
        return await masterOf(sentinel.port);
      } catch (error) {
        lastError = error;
      }
    }
    throw new Error(`no Sentinel named the primary: ${(lastError as Error | undefined)?.message}`);
  }

  async primary(): Promise<RedisServer> {
    return this.#node(await this.primaryAddress());
  }

  async killPrimary(): Promise<Address> {
    const address = await this.primaryAddress();
    await this.#node(address).kill();
    return address;
  }

  async waitForFailover(old: Address, timeoutMs = SETTLE_TIMEOUT_MS): Promise<Failover> {
    const deadline = Date.now() + timeoutMs;
    let at: number | undefined;
    let seen: Address[] = [];
    while (Date.now() < deadline) {
      seen = await Promise.all(this.#answering().map((sentinel) => masterOf(sentinel.port).catch(() => old)));
      const moved = seen.filter((address) => !sameAddress(address, old));
      if (moved.length > 0) at ??= Date.now();
      const first = moved[0];
      if (first && moved.length === seen.length && moved.every((address) => sameAddress(address, first))) {
        return { primary: first, at: at as number, agreedAt: Date.now() };
      }
      await sleep(POLL_MS);
    }
    throw new Error(`no failover away from ${old.host}:${old.port} within ${timeoutMs} ms; Sentinels name `
      + `${seen.map((a) => `${a.host}:${a.port}`).join(', ')}\n${this.#processes.map((s) => s.output()).join('\n---\n')}`);
  }

  pauseSentinel(index: number): void {
    const sentinel = this.#sentinel(index);
    sentinel.signal('SIGSTOP');
    this.#paused.add(sentinel);
  }

  resumeSentinel(index: number): void {
    const sentinel = this.#sentinel(index);
    sentinel.signal('SIGCONT');
    this.#paused.delete(sentinel);
  }

  async stop(): Promise<void> {
    await Promise.all(this.#processes.map((sentinel) => sentinel.kill()));
    await Promise.all(this.nodes.map((node) => node.stop()));
  }

  #answering(): SentinelProcess[] {
    return this.#processes.filter((sentinel) => !this.#paused.has(sentinel));
  }

  #sentinel(index: number): SentinelProcess {
    const sentinel = this.#processes[index];
    if (!sentinel) throw new Error(`no Sentinel #${index}`);
    return sentinel;
  }

  #node(address: Address): RedisServer {
    const node = this.nodes.find((candidate) => candidate.port === address.port);
    if (!node) throw new Error(`the primary ${address.host}:${address.port} is none of this setup's nodes`);
    return node;
  }
}

/** One `redis-server --sentinel` child with its own config file (Sentinel rewrites it, so it must be its own). */
interface SentinelProcess {
  readonly port: number;
  output(): string;
  signal(signal: NodeJS.Signals): void;
  kill(): Promise<void>;
}

async function startSentinel(primaryPort: number): Promise<SentinelProcess> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const dir = makeDir('erc-sentinel-');
    const conf = join(dir, 'sentinel.conf');
    writeFileSync(conf, [
      `port ${port}`,
      `bind ${HOST}`,
      `dir ${dir}`,
      'sentinel resolve-hostnames no',
      `sentinel monitor ${NAME} ${HOST} ${primaryPort} ${QUORUM}`,
      `sentinel down-after-milliseconds ${NAME} ${DOWN_AFTER_MS}`,
      `sentinel failover-timeout ${NAME} ${FAILOVER_TIMEOUT_MS}`,
      `sentinel parallel-syncs ${NAME} 1`,
      '',
    ].join('\n'));
    const child = spawn('redis-server', [conf, '--sentinel'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const proc = track(child);
    const sentinel: SentinelProcess = {
      port,
      output: proc.output,
      signal: (signal) => void child.kill(signal),
      kill: async () => {
        if (isRunning(proc)) {
          child.kill('SIGKILL');
          await waitExit(proc, EXIT_TIMEOUT_MS);
        }
        removeDir(dir);
      },
    };
    try {
      await waitReady(proc, child.pid, port);
      return sentinel;
    } catch (error) {
      await sentinel.kill();
      // The free port can be taken between probing and binding (parallel test files do this); try another.
      if (!/address already in use/i.test(proc.output()) || attempt >= BIND_ATTEMPTS) throw error;
    }
  }
}

/** Waits until this very process answers on `port` (another one may own the port: only our pid counts). */
async function waitReady(proc: ServerProcess, pid: number | undefined, port: number): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastError = 'no attempt yet';
  let exited = false;
  void proc.exited.then(() => void (exited = true));
  while (Date.now() < deadline) {
    if (exited) throw new Error(`redis-server --sentinel exited before answering on port ${port}:\n${proc.output()}`);
    try {
      const info = await command(port, 'INFO', 'server');
      if (info.includes('redis_mode:sentinel') && info.includes(`process_id:${pid}\r\n`)) return;
      lastError = 'port answered, but by another process';
    } catch (error) {
      lastError = (error as Error).message;
    }
    await sleep(POLL_MS);
  }
  throw new Error(`Sentinel did not answer on port ${port} within ${READY_TIMEOUT_MS} ms (last: ${lastError}):\n${proc.output()}`);
}

/** Every Sentinel sees the primary as up, the replica linked and the other Sentinels; the replica is in sync. */
async function waitSettled(sentinels: readonly SentinelProcess[], nodes: readonly RedisServer[]): Promise<void> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  let last = '';
  while (Date.now() < deadline) {
    const views = await Promise.all(sentinels.map((sentinel) => sentinelView(sentinel.port).catch((e: Error) => e.message)));
    const replication = await nodes[1]?.command('INFO', 'replication').catch((e: Error) => e.message) ?? '';
    const synced = replication.includes('master_link_status:up');
    if (synced && views.every((view) => view === 'ok')) return;
    last = `replica: ${synced ? 'in sync' : 'not in sync'}; sentinels: ${views.join('; ')}`;
    await sleep(100);
  }
  throw new Error(`the Sentinels did not settle within ${SETTLE_TIMEOUT_MS} ms (${last})\n`
    + sentinels.map((s) => s.output()).join('\n---\n'));
}

/** 'ok' when this Sentinel sees the primary up, one healthy replica and the two other Sentinels; else what is off. */
async function sentinelView(port: number): Promise<string> {
  const master = fields(await sendCommand({ host: HOST, port, timeoutMs: COMMAND_TIMEOUT_MS }, ['SENTINEL', 'MASTER', NAME]));
  const replicas = await sendCommand({ host: HOST, port, timeoutMs: COMMAND_TIMEOUT_MS }, ['SENTINEL', 'REPLICAS', NAME]);
  const healthy = (Array.isArray(replicas) ? replicas : []).map(fields)
    .filter((replica) => replica['flags'] === 'slave' && replica['master-link-status'] === 'ok');
  if (master['flags'] !== 'master') return `${port}: primary flags ${master['flags']}`;
  if (healthy.length !== 1) return `${port}: ${healthy.length} healthy replicas`;
  if (master['num-other-sentinels'] !== String(SENTINELS - 1)) return `${port}: knows ${master['num-other-sentinels']} other Sentinels`;
  return 'ok';
}

/** A flat `[name, value, name, value, …]` reply as an object. */
function fields(reply: RespValue): Record<string, string> {
  const list = Array.isArray(reply) ? reply : [];
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < list.length; i += 2) out[replyToString(list[i] as RespValue)] = replyToString(list[i + 1] as RespValue);
  return out;
}

async function masterOf(port: number): Promise<Address> {
  const reply = await sendCommand({ host: HOST, port, timeoutMs: COMMAND_TIMEOUT_MS }, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', NAME]);
  if (!Array.isArray(reply) || reply.length !== 2) throw new Error(`Sentinel ${port} named no primary`);
  return { host: replyToString(reply[0] as RespValue), port: Number(replyToString(reply[1] as RespValue)) };
}

async function command(port: number, ...args: string[]): Promise<string> {
  return replyToString(await sendCommand({ host: HOST, port, timeoutMs: COMMAND_TIMEOUT_MS }, args));
}

function sameAddress(a: Address, b: Address): boolean {
  return a.host === b.host && a.port === b.port;
}
