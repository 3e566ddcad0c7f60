// Waits until a target is in its steady state before load: for ours with Redis, until its near-cache is live
// (CLIENT TRACKING set up on a fresh connection), since entries stored before then keep no memory copy.
import { setTimeout as sleep } from 'node:timers/promises';

const READY_TIMEOUT_MS = 10_000;

/** Resolves at once for targets that report no near-cache. */
export async function nearCacheLive(target) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const { nearCache } = await target.stats();
    if (nearCache === undefined || nearCache === 'live' || nearCache === 'disabled') return;
    if (Date.now() > deadline) throw new Error(`its near-cache was still ${nearCache} ${READY_TIMEOUT_MS} ms after start`);
    await sleep(20);
  }
}
