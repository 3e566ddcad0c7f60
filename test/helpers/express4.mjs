// Runs code written against `express` on Express 4: `node --import ./test/helpers/express4.mjs …` (npm run
// test:express4). The bare specifier `express` (and `express/…`) resolves to the `express4` dev dependency
// (npm:express@^4) in every ES module import: the tests', the example app's, and the package's own
// `import { Router } from 'express'` in src/ and dist/. It adds itself to NODE_OPTIONS, so the processes tests spawn
// (the example app) run on Express 4 too.
//
// Express 4 reports a deprecated API (`req.host`, `res.send(status)`, …) once per call site on stderr. Here a
// deprecation from the package or the example app fails the process (exit code 1, after saying where); one from a
// test's own app code (test/) is only reported.
import { register } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const SELF = import.meta.url;
const TESTS = fileURLToPath(new URL('../', SELF));

register(
  `data:text/javascript,${encodeURIComponent(`
export async function resolve(specifier, context, nextResolve) {
  if (specifier === 'express' || specifier.startsWith('express/')) {
    return nextResolve('express4' + specifier.slice('express'.length), context);
  }
  return nextResolve(specifier, context);
}`)}`,
  SELF,
);

const option = `--import=${SELF}`;
const inherited = process.env['NODE_OPTIONS'] ?? '';
if (!inherited.includes(option)) process.env['NODE_OPTIONS'] = `${inherited} ${option}`.trim();

process.on('deprecation', (error) => {
  const stack = String(error.stack);
  const frame = /\n\s+at (?:.*? \()?(.*?):\d+:\d+\)?/.exec(stack)?.[1] ?? '';
  const file = frame.startsWith('file:') ? fileURLToPath(frame) : frame;
  const ours = !file.startsWith(TESTS);
  process.stderr.write(`${error.namespace} deprecated ${error.message}\n${stack.split('\n').slice(1, 4).join('\n')}\n`);
  if (ours) {
    process.stderr.write(`express4.mjs: the deprecated call above is not a test's own (${pathToFileURL(file)}): failing\n`);
    process.exitCode = 1;
  }
});
