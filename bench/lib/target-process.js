// Runs one target app (bench/targets/<name>.js) in its own Node process and talks to it.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { track } from './children.js';
import { getJson, getText, postJson } from './http-json.js';
import { TARGETS, scriptOf } from './targets.js';

const STARTUP_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 3_000;

/**
 * @param {string} name
 * @param {{ redisUrl?: string, scenario: string, nodeArgs?: string[], env?: Record<string, string> }} opts
 */
export async function startTargetProcess(name, { redisUrl, scenario, nodeArgs = [], env = {} }) {
  const file = fileURLToPath(new URL(`../targets/${scriptOf(name)}.js`, import.meta.url));
  if (TARGETS[name]?.baseline && !process.env.BENCH_BASELINE_DIST) throw new Error(`${name} needs --baseline DIR`);
  const dist = TARGETS[name]?.baseline ? { BENCH_OURS_DIST: process.env.BENCH_BASELINE_DIST } : {};
  const child = track(
    spawn(process.execPath, ['--expose-gc', ...nodeArgs, file], {
      env: { ...process.env, NODE_ENV: 'production', REDIS_URL: redisUrl ?? '', BENCH_SCENARIO: scenario, ...env, ...dist },
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    }),
  );
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr = (stderr + d.toString('utf8')).slice(-4000);
    process.stderr.write(`[${name}] ${d}`);
  });
  const port = await waitReady(child, name, () => stderr);
  return makeHandle(name, child, port);
}

function waitReady(child, name, stderr) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`target ${name} did not start within ${STARTUP_TIMEOUT_MS} ms`));
    }, STARTUP_TIMEOUT_MS);
    child.once('message', (msg) => {
      clearTimeout(timer);
      resolve(msg.port);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`target ${name} exited during startup (code ${code}): ${stderr().trim() || 'no output'}`));
    });
  });
}

function makeHandle(name, child, port) {
  const base = `http://127.0.0.1:${port}`;
  return {
    name,
    base,
    pid: child.pid,
    /** @returns {Promise<{ cpuMicros: number, requests: number, originRuns: number, slowRuns: number, now: number }>} */
    cpu: () => getJson(`${base}/__bench/cpu`),
    stats: (timeoutMs) => getJson(`${base}/__bench/stats`, timeoutMs),
    heap: () => getJson(`${base}/__bench/heap`, 30_000),
    get: (path) => getText(`${base}${path}`),
    post: (path) => postJson(`${base}${path}`),
    /** Only when started with BENCH_CPU_PROF_FILE: profiles what happens between the two calls. */
    profile: {
      start: () => getJson(`${base}/__bench/profile/start`),
      stop: () => getJson(`${base}/__bench/profile/stop`, 60_000),
    },
    stop: () => stopChild(child),
  };
}

async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    child.send({ type: 'stop' });
  } catch {
    child.kill('SIGKILL');
  }
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}
