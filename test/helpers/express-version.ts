// Which Express the tests run on: 5 under `npm test`, 4 under `npm run test:express4` (test/helpers/express4.mjs
// maps `express` to the express4 dev dependency). Read through the same resolution as the tests' own imports.

const specifier = 'express/package.json';
const manifest = (await import(specifier, { with: { type: 'json' } })) as { default: { version: string } };

/** The running Express's version, `4.22.3` say. */
export const EXPRESS_VERSION: string = manifest.default.version;
/** Its major version: 4 or 5. */
export const EXPRESS_MAJOR = Number(EXPRESS_VERSION.split('.')[0]);
/** True when this process was started with test/helpers/express4.mjs. */
export const EXPRESS4_REQUESTED = (process.env['NODE_OPTIONS'] ?? '').includes('express4.mjs');
