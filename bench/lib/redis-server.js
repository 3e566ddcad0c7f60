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
