/**
 * Builds the stats dashboard from the files beside this one: page.html (the document), dashboard.css
 * and the browser scripts, inlined so the page works offline and under a strict CSP.
 *
 * page.html holds three placeholders, each replaced once: `{{title}}` (the escaped title; heading and
 * `<title>`), `{{style}}` (dashboard.css, inside `<style>`) and `{{script}}` (the scripts, inside
 * `<script>`). The scripts are concatenated in SCRIPT_FILES order inside one function scope; each
 * defines one name at top level for the files after it (see src/dashboard/tsconfig.json), and the
 * last one starts the page.
 *
 * The build copies these files to dist/dashboard/ beside the compiled loader (scripts/copy-dashboard.js).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Options for {@link dashboardPage}. */
export interface DashboardPageOptions {
  /**
   * Heading and document title of the page.
   * @default 'Cache stats'
   */
  title?: string;
}

/** In run order: each file uses only names the files before it define. */
const SCRIPT_FILES = ['dom.js', 'figures.js', 'charts.js', 'samples.js', 'table.js', 'history-charts.js', 'dashboard.js'];
const PLACEHOLDERS = ['title', 'style', 'script'] as const;
type Placeholder = (typeof PLACEHOLDERS)[number];
const PLACEHOLDER = new RegExp(`\\{\\{(${PLACEHOLDERS.join('|')})\\}\\}`, 'g');

interface Assets {
  readonly template: string;
  readonly style: string;
  readonly script: string;
}

let assets: Assets | undefined;

function readAsset(file: string): string {
  const path = fileURLToPath(new URL(file, import.meta.url));
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`express-resilient-cache: cannot read the stats dashboard's ${file} (${path}); `
      + 'the package is incomplete, reinstall it', { cause: error });
  }
}

/** Reads and checks the files on first use (the first stats router), then keeps them. */
function loadAssets(): Assets {
  if (assets) return assets;
  const template = readAsset('page.html');
  const style = readAsset('dashboard.css');
  const script = ['(function () {', "'use strict';", ...SCRIPT_FILES.map(readAsset), '})();', ''].join('\n');
  // A literal "</script" or "</style" inside the inlined code would end the element early.
  if (/<\/(script|style)/i.test(script + style)) throw new Error('dashboard script or style contains a closing tag');
  for (const name of PLACEHOLDERS) {
    if (!template.includes(`{{${name}}}`)) throw new Error(`dashboard page.html lacks {{${name}}}`);
  }
  assets = { template, style, script };
  return assets;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

/**
 * The Content-Security-Policy that fits the dashboard: only its own inline script and style (by hash),
 * and requests back to the same origin. Serve it with the page so apps whose global CSP forbids inline
 * scripts (helmet's default does) still get a working dashboard, and so the page provably loads nothing
 * from elsewhere.
 */
export function dashboardContentSecurityPolicy(): string {
  const { script, style } = loadAssets();
  return [
    "default-src 'none'",
    `script-src ${sha256(script)}`,
    `style-src ${sha256(style)}`,
    "connect-src 'self'",
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'self'",
  ].join('; ');
}

/**
 * The live stats dashboard: one self-contained HTML document (inline CSS and JS, no external requests)
 * that polls its own URL with `Accept: application/json` every 2 s (`?interval=ms` to change) and
 * draws the figures and the last ten minutes of history. Build it once when the router is created.
 */
export function dashboardPage(options: DashboardPageOptions = {}): string {
  const { template, style, script } = loadAssets();
  const values: Record<Placeholder, string> = { title: escapeHtml(options.title ?? 'Cache stats'), style, script };
  // One pass with a function, so nothing in the inlined text is read as a placeholder or a `$&` pattern.
  return template.replace(PLACEHOLDER, (_match, name: Placeholder) => values[name]);
}
