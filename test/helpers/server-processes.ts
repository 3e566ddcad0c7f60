import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

// The redis-server children tests start (data nodes and Sentinels) and their directories: tracked in one place, so
// nothing outlives the test process, however it ends.

const OUTPUT_TAIL_CHARS = 4_000;

/** A spawned child plus the tail of what it printed, kept for error messages. */
export interface ServerProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  output(): string;
}

const live = new Set<ChildProcess>();
const liveDirs = new Set<string>();
let cleanupInstalled = false;

/** Registers a child for exit cleanup and records the tail of its output. */
export function track(child: ChildProcess): ServerProcess {
  installCleanup();
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

export function isRunning(proc: ServerProcess): boolean {
  return proc.child.exitCode === null && proc.child.signalCode === null;
}

/** Waits for exit; if a clean shutdown hangs, falls back to SIGKILL so a test never blocks forever. */
export async function waitExit(proc: ServerProcess, timeoutMs: number): Promise<void> {
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

/** A fresh directory under the system's temp dir, removed at exit if the test does not. */
export function makeDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  liveDirs.add(dir);
  return dir;
}

/** Makes `dir` again (a restart after its removal), removed at exit if the test does not. */
export function remakeDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
  liveDirs.add(dir);
}

export function removeDir(dir: string): void {
  liveDirs.delete(dir);
  rmSync(dir, { recursive: true, force: true });
}

function unrefStream(stream: unknown): void {
  (stream as { unref?: () => void } | null)?.unref?.();
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
