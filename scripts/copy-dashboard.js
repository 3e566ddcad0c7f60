// Part of `npm run build`: copies the stats dashboard's page, stylesheet and browser scripts from
// src/dashboard/ to dist/dashboard/, beside the compiled loader (page.js) that reads them at run time.
// tsc emits only what it compiles; the browser scripts are checked (src/dashboard/tsconfig.json), not built.
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';

const from = new URL('../src/dashboard/', import.meta.url);
const to = new URL('../dist/dashboard/', import.meta.url);
mkdirSync(to, { recursive: true });
for (const file of readdirSync(from)) {
  if (/\.(html|css|js)$/.test(file)) copyFileSync(new URL(file, from), new URL(file, to));
}
