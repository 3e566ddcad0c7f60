// The bench's own redis-server: a free port on 127.0.0.1, no persistence, killed with the run.
// It never touches the shared Redis on 6379.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { track } from './children.js';
import { freePort } from './free-port.js';
import { processCpuMicros } from './proc-cpu.js';

const SHARED_REDIS_PORT = 6379;

/** Starts redis-server and resolves once it answers PING. */
export async function startRedis() {
  let port = await freePort();
  while (port === SHARED_REDIS_PORT) port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'warning'];
  const child = track(spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'inherit'] }));
  const exited = new Promise((_, reject) => child.once('exit', (code) => reject(new Error(`redis-server exited early (code ${code})`))));
  exited.catch(() => {});
  await Promise.race([waitForPong(port, 5000), exited]);
  return makeHandle(child, port);
}

function makeHandle(child, port) {
  let frozen = false;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: child.pid,
    /** Empties the bench's own server between measurements, so every target starts cold. */
    flush: () => command(port, 'FLUSHALL'),
    /** SIGSTOP: the process keeps its sockets open and answers nothing, like a hung server. */
    freeze() {
      frozen = true;
      child.kill('SIGSTOP');
    },
    thaw() {
      if (frozen) child.kill('SIGCONT');
      frozen = false;
    },
    cpuMicros: () => processCpuMicros(child.pid),
    /** Calls per command so far (`INFO commandstats`), e.g. { get: 120, 'client|tracking': 2 }. */
    commandCalls: async () => parseCommandStats(await bulkCommand(port, 'INFO commandstats')),
    stop() {
      child.kill('SIGKILL');
    },
  };
}

async function waitForPong(port, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await command(port, 'PING')) === '+PONG') return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Redis commands between two `commandCalls()` readings, less the bench's own `INFO` (the earlier reading counts in
 * the later one). Returns the total and the commands that moved, most calls first.
 */
export function commandDelta(before, after) {
  const moved = {};
  for (const [name, calls] of Object.entries(after)) {
    const delta = calls - (before[name] ?? 0) - (name === 'info' ? 1 : 0);
    if (delta > 0) moved[name] = delta;
  }
  const sorted = Object.fromEntries(Object.entries(moved).sort((a, b) => b[1] - a[1]));
  return { total: Object.values(moved).reduce((a, b) => a + b, 0), byCommand: sorted };
}

function parseCommandStats(text) {
  const calls = {};
  for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[match[1]] = Number(match[2]);
  return calls;
}

/** Sends one inline command whose reply is a bulk string (INFO) and resolves with its text. */
function bulkCommand(port, text, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = Buffer.alloc(0);
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`redis ${text} timed out`)));
    socket.on('connect', () => socket.write(`${text}\r\n`));
    socket.on('data', (d) => {
      reply = Buffer.concat([reply, d]);
      const end = reply.indexOf('\r\n');
      if (end === -1) return;
      const head = reply.subarray(0, end).toString('utf8');
      if (!head.startsWith('$')) {
        socket.destroy();
        return reject(new Error(`redis ${text}: ${head}`));
      }
      const length = Number(head.slice(1));
      if (reply.length < end + 2 + length) return;
      socket.end();
      resolve(reply.subarray(end + 2, end + 2 + length).toString('utf8'));
    });
    socket.on('error', reject);
  });
}

/** Sends one inline command and resolves with the first reply line. Enough for PING and FLUSHALL. */
function command(port, text, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`redis ${text} timed out`)));
    socket.on('connect', () => socket.write(`${text}\r\n`));
    socket.on('data', (d) => {
      reply += d.toString('utf8');
      const end = reply.indexOf('\r\n');
      if (end === -1) return;
      socket.end();
      const line = reply.slice(0, end);
      if (line.startsWith('-')) reject(new Error(`redis ${text}: ${line}`));
      else resolve(line);
    });
    socket.on('error', reject);
  });
}
