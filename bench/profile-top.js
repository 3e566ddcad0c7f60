// Prints the functions with the most self time in a V8 .cpuprofile (from `node --cpu-prof`, or from
// `node bench/run.js --cpu-prof ours-memory`). Usage: node bench/profile-top.js FILE.cpuprofile [N]
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const [file, topArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bench/profile-top.js FILE.cpuprofile [N]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8'));
const top = Number(topArg) || 25;

const selfMicros = selfTimeByNode(profile);
const byFunction = new Map();
let total = 0;
for (const node of profile.nodes) {
  const micros = selfMicros.get(node.id) ?? 0;
  total += micros;
  const label = describe(node.callFrame);
  byFunction.set(label, (byFunction.get(label) ?? 0) + micros);
}
const rows = [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top);
console.log(`self time, top ${top} of ${(total / 1000).toFixed(0)} ms sampled`);
for (const [label, micros] of rows) {
  console.log(`${((micros / total) * 100).toFixed(1).padStart(5)}%  ${(micros / 1000).toFixed(0).padStart(6)} ms  ${label}`);
}

/** Sample i lasted timeDeltas[i + 1]: the time until the next sample. */
function selfTimeByNode({ samples, timeDeltas }) {
  const out = new Map();
  for (let i = 0; i < samples.length; i++) {
    const delta = timeDeltas[i + 1] ?? 0;
    out.set(samples[i], (out.get(samples[i]) ?? 0) + delta);
  }
  return out;
}

function describe({ functionName, url, lineNumber }) {
  const name = functionName || '(anonymous)';
  if (!url) return name;
  let where = url;
  if (url.startsWith('file://')) where = relative(process.cwd(), fileURLToPath(url));
  return `${name}  ${where}:${lineNumber + 1}`;
}
