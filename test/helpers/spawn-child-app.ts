import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** A test app running in its own node process. */
export interface ChildApp {
  /** `http://127.0.0.1:PORT` */
  readonly base: string;
  readonly pid: number;
  /** Everything the process has written to stderr so far. */
  stderr(): string;
  /** SIGTERM (the app flushes and closes its cache), then SIGKILL if it has not exited within 5 s. */
  stop(): Promise<void>;
}

/** The app the observability tests run: an instance with the cache, its routers and a metrics endpoint. */
export const OBSERVABILITY_APP = fileURLToPath(new URL('./observability-child-app.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/**
 * Starts the child app `file` (by default the observability app) with `env` added to a copy of this process's
 * environment (`DEBUG` is removed unless `env` sets it, so a developer's own DEBUG cannot change what a test sees).
 * Resolves once it prints its port as one line `{"port":N}`.
 */
export async function startChildApp(env: Record<string, string>, file = OBSERVABILITY_APP): Promise<ChildApp> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '' };
  delete childEnv['DEBUG'];
  Object.assign(childEnv, env);
  const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => void (stdout += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => void (stderr += chunk.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => {
    live.delete(child);
    resolve();
  }));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => fail(`did not print its port within ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS);
    const fail = (why: string) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`child app ${why}\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    };
    child.stdout?.on('data', () => {
      const line = /^\{"port":(\d+)\}$/m.exec(stdout);
      if (line) {
        clearTimeout(timer);
        resolve(Number(line[1]));
      }
    });
    child.once('exit', (code, signal) => fail(`exited early (code ${code}, signal ${signal})`));
  });
  return {
    base: `http://127.0.0.1:${port}`,
    pid: child.pid as number,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}
