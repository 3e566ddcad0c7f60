// Loads the built package. The bench measures what users install (dist/), never the TS sources.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

// BENCH_OURS_DIST points a baseline target at an earlier build (a copy of dist/ made before a change).
const DIST = process.env.BENCH_OURS_DIST
  ? pathToFileURL(resolve(process.env.BENCH_OURS_DIST, 'index.js'))
  : new URL('../../dist/index.js', import.meta.url);

/** @returns {Promise<typeof import('../../dist/index.js')>} */
export async function loadOurs() {
  if (!existsSync(fileURLToPath(DIST))) {
    throw new Error(`${fileURLToPath(DIST)} is missing: run \`npm run build\` (or \`npm run bench\`, which builds first)`);
  }
  return import(DIST.href);
}
