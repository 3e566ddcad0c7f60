// Polls a target's /__bench/stats during the outage run to see when its Redis tier serves hits again:
// the first sample after the thaw whose Redis-hit counter moved past its value at the thaw.

const POLL_MS = 100;

export function watchRedisHits(target) {
  const samples = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      try {
        const s = await target.stats(2000);
        samples.push({ at: s.now, hits: s.redisHits });
      } catch {
        // a missed sample only lowers the resolution
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  })();
  return {
    samples,
    async stop() {
      stopped = true;
      await loop;
    },
    /** Seconds from `thawAt` until Redis hits resumed; null if never seen or the target reports no counter. */
    resumeSeconds(thawAt) {
      const atThaw = samples.filter((s) => s.at <= thawAt).at(-1);
      if (!atThaw || typeof atThaw.hits !== 'number') return null;
      const resumed = samples.find((s) => s.at > thawAt && typeof s.hits === 'number' && s.hits > atThaw.hits);
      return resumed ? (resumed.at - thawAt) / 1000 : null;
    },
  };
}
