// Loads the built package. The bench measures what users install (dist/), never the TS sources.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const DIST = new URL('../../dist/index.js', import.meta.url);

/** @returns {Promise<typeof import('../../dist/index.js')>} */
export async function loadOurs() {
  if (!existsSync(fileURLToPath(DIST))) {
    throw new Error(`${fileURLToPath(DIST)} is missing: run \`npm run build\` (or \`npm run bench\`, which builds first)`);
  }
  return import(DIST.href);
}
