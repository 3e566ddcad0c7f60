import { createHash } from 'node:crypto';
import { DASHBOARD_CHARTS } from './dashboard-charts.js';
import { DASHBOARD_HISTORY } from './dashboard-history.js';
import { DASHBOARD_SCRIPT } from './dashboard-script.js';
import { DASHBOARD_STYLE } from './dashboard-style.js';
import { DASHBOARD_TABLE } from './dashboard-table.js';

/** Options for {@link dashboardPage}. */
export interface DashboardPageOptions {
  /**
   * Heading and document title of the page.
   * @default 'Cache stats'
   */
  title?: string;
}

// One script element and one scope: the parts only declare functions and state; start() runs last.
const SCRIPT = ['(function () {', "'use strict';", DASHBOARD_CHARTS, DASHBOARD_SCRIPT, DASHBOARD_TABLE, DASHBOARD_HISTORY,
  'start();', '})();', ''].join('\n');

// A literal "</script" or "</style" inside the inlined code would end the element early.
if (/<\/(script|style)/i.test(SCRIPT + DASHBOARD_STYLE)) {
  throw new Error('dashboard script or style contains a closing tag');
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
  return [
    "default-src 'none'",
    `script-src ${sha256(SCRIPT)}`,
    `style-src ${sha256(DASHBOARD_STYLE)}`,
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
  const title = escapeHtml(options.title ?? 'Cache stats');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="robots" content="noindex">
<meta name="referrer" content="no-referrer">
<title>${title}</title>
<link rel="icon" href="data:,">
<style>${DASHBOARD_STYLE}</style>
</head>
<body>
<div class="wrap">
<header class="top">
  <div>
    <h1>${title}</h1>
    <p class="meta">Instance <span data-testid="instance-id">…</span> · up <span data-testid="uptime">…</span></p>
  </div>
  <p class="updated" data-testid="updated-line">Last updated <time data-testid="last-updated">never</time>
    <span data-testid="updated-age"></span><br><span class="note">refreshing every <span data-testid="interval"></span></span></p>
</header>
<div class="banner" role="alert" data-testid="error-state" hidden><strong>Stats unavailable.</strong> <span data-testid="error-message"></span></div>
<main>
<section class="overview" aria-label="Overview">
  <article class="panel tier" data-testid="tier-card">
    <h2>Cache tier</h2>
    <p class="big" data-testid="tier-state" data-state="">…</p>
    <p class="sub" data-testid="tier-hint"></p>
    <p class="sub">Redis breaker <span class="chip" data-testid="breaker-state">…</span> <span data-testid="tier-since"></span></p>
    <p class="sub" data-testid="tier-extra"></p>
  </article>
  <article class="panel">
    <h2>Hit rate</h2>
    <p class="big" data-testid="total-hit-rate">…</p>
    <p class="sub">since this instance started · last minute <strong data-testid="recent-hit-rate">…</strong></p>
  </article>
  <article class="panel">
    <h2>Lookups</h2>
    <p class="big" data-testid="total-lookups">…</p>
    <p class="sub" data-testid="total-breakdown"></p>
  </article>
  <article class="panel" data-testid="side-card">
    <h2 data-testid="side-title">Errors</h2>
    <p class="big" data-testid="side-value">…</p>
    <p class="sub" data-testid="side-detail"></p>
  </article>
</section>
<section aria-labelledby="names-heading">
  <h2 id="names-heading">Per name</h2>
  <div class="panel table-wrap">
  <table data-testid="names-table">
    <thead>
      <tr class="group"><td></td><th colspan="7" scope="colgroup"><span>This instance</span></th>
        <th colspan="3" scope="colgroup" class="shared"><span>All instances, <span data-testid="shared-window">last 24 h</span></span></th></tr>
      <tr><th scope="col" class="first">Name</th><th scope="col">Lookups</th><th scope="col">Hits</th><th scope="col">Stale</th>
        <th scope="col">Misses</th><th scope="col">Bypassed</th><th scope="col">Errors</th><th scope="col">Hit rate</th>
        <th scope="col" class="shared">Lookups</th><th scope="col" class="shared">Hits</th><th scope="col" class="shared">Hit rate</th></tr>
    </thead>
    <tbody data-testid="names-body"><tr><td colspan="11" class="empty">Waiting for the first figures…</td></tr></tbody>
    <tfoot data-testid="totals"></tfoot>
  </table>
  </div>
</section>
<section aria-labelledby="charts-heading">
  <h2 id="charts-heading">Last 10 minutes</h2>
  <div class="charts">
    <figure class="panel wide" data-testid="chart-hitrate">
      <header><h3>Hit rate per name</h3><span class="note">share of lookups answered from cache, each point over the 10 s before it; busiest 8 names</span></header>
      <div class="plot"><svg role="img" aria-label="Hit rate per name"></svg><div class="tooltip" hidden></div></div>
      <ul class="legend"></ul>
    </figure>
    <figure class="panel wide" data-testid="chart-tier">
      <header><h3>Tier state</h3><span class="note">where responses were cached</span></header>
      <div class="plot"><svg role="img" aria-label="Tier state"></svg><div class="tooltip" hidden></div></div>
      <ul class="legend"></ul>
    </figure>
    <figure class="panel" data-testid="chart-latency-memory" data-tier="memory">
      <header><h3>Memory latency</h3><span class="note">lookup in this process</span></header>
      <div class="plot"><svg role="img" aria-label="Memory latency"></svg><div class="tooltip" hidden></div></div>
      <ul class="legend"></ul>
    </figure>
    <figure class="panel" data-testid="chart-latency-redis" data-tier="redis">
      <header><h3>Redis latency</h3><span class="note">round trip per call</span></header>
      <div class="plot"><svg role="img" aria-label="Redis latency"></svg><div class="tooltip" hidden></div></div>
      <ul class="legend"></ul>
    </figure>
    <figure class="panel" data-testid="chart-latency-handler" data-tier="handler">
      <header><h3>Handler latency</h3><span class="note">your route, on misses</span></header>
      <div class="plot"><svg role="img" aria-label="Handler latency"></svg><div class="tooltip" hidden></div></div>
      <ul class="legend"></ul>
    </figure>
  </div>
</section>
</main>
<footer>Latency percentiles cover this instance's last minute. The same figures as JSON: request this URL with <code>Accept: application/json</code>.</footer>
<noscript><p>This dashboard needs JavaScript. The figures are available as JSON at this URL with <code>Accept: application/json</code>.</p></noscript>
</div>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
