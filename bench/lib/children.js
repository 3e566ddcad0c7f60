// Every process the bench starts is registered here, so that any way out of the run
// (normal exit, Ctrl-C, an uncaught error) kills them all, redis-server included.

/** @type {Set<import('node:child_process').ChildProcess>} */
const live = new Set();

/** Registers a child for cleanup and returns it. */
export function track(child) {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** SIGKILL every child still alive; synchronous so it can run inside process.on('exit'). */
export function killAll() {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}

/** Installs the exit, signal and crash handlers once, at the start of the run. */
export function installCleanup() {
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      console.error(`\n${signal}: stopping every target and redis-server`);
      killAll();
      process.exit(130);
    });
  }
  const crash = (err) => {
    console.error(err);
    killAll();
    process.exit(1);
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
}
