/**
 * The stats dashboard's stylesheet, inlined into the page so it works offline and under a strict CSP.
 * Colours live in custom properties so the dark scheme only swaps values; chart series use the
 * `s0`…`s7` classes so the same palette colours table swatches, legends and SVG lines.
 */
export const DASHBOARD_STYLE = String.raw`
:root {
  color-scheme: light dark;
  --bg: #f4f6f8; --panel: #ffffff; --text: #1b1f24; --muted: #5b6472; --border: #dde1e6; --grid: #e9ecf0;
  --accent: #2f6fde; --track: #e6eaf0;
  --ok: #1a7f37; --ok-bg: #e6f4ea; --warn: #8a5a00; --warn-bg: #fff3d1; --bad: #c62828; --bad-bg: #fdecec;
  --info: #3b5bdb; --info-bg: #e9eeff; --none: #b8c0cc;
  --c0: #2f6fde; --c1: #e8590c; --c2: #2b8a3e; --c3: #ae3ec9; --c4: #0c8599; --c5: #d6336c; --c6: #8d6e63; --c7: #f59f00;
  --total: #6b7380;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0e1115; --panel: #161a20; --text: #e6e9ee; --muted: #9aa4b2; --border: #2a3039; --grid: #232932;
    --accent: #6ea8ff; --track: #262d37;
    --ok: #4ac26b; --ok-bg: #11261a; --warn: #e3b341; --warn-bg: #2d2410; --bad: #ff6b6b; --bad-bg: #301618;
    --info: #91a7ff; --info-bg: #1a2144; --none: #3a424d;
    --c0: #6ea8ff; --c1: #ff922b; --c2: #69db7c; --c3: #da77f2; --c4: #3bc9db; --c5: #f783ac; --c6: #c9a889; --c7: #ffd43b;
    --total: #c1c8d2;
  }
}
* { box-sizing: border-box; }
body {
  margin: 0; background: var(--bg); color: var(--text);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
.wrap { max-width: 1240px; margin: 0 auto; padding: 20px 24px 40px; }
h1 { font-size: 20px; margin: 0; font-weight: 650; }
h2 { font-size: 13px; margin: 0 0 10px; font-weight: 600; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
h3 { font-size: 14px; margin: 0; font-weight: 600; }
.num, td, .big, .legend-value, .meta { font-variant-numeric: tabular-nums; }
header.top { display: flex; justify-content: space-between; align-items: flex-end; gap: 16px; margin-bottom: 16px; }
.meta { margin: 2px 0 0; color: var(--muted); }
.updated { margin: 0; color: var(--muted); text-align: right; }
.updated time { color: var(--text); font-weight: 600; }
.is-stale .updated time { color: var(--bad); }
.is-stale .overview, .is-stale .table-wrap { opacity: .55; }
.banner {
  display: flex; gap: 8px; align-items: baseline; margin: 0 0 16px; padding: 10px 14px; border-radius: 8px;
  background: var(--bad-bg); color: var(--bad); border: 1px solid currentColor;
}
.banner[hidden] { display: none; }
.panel { background: var(--panel); border: 1px solid var(--border); border-radius: 10px; padding: 14px 16px; }
.overview { display: grid; grid-template-columns: 1.5fr 1fr 1fr 1fr; gap: 12px; margin-bottom: 16px; }
.overview .panel { min-width: 0; }
.big { font-size: 28px; font-weight: 650; line-height: 1.15; margin: 0; }
.sub { margin: 4px 0 0; color: var(--muted); }
.tier { border-left-width: 6px; }
.tier .big { display: flex; align-items: center; gap: 10px; }
.tier .big::before { content: ""; width: 14px; height: 14px; border-radius: 50%; background: currentColor; flex: none; }
.tone-ok { color: var(--ok); } .tone-warn { color: var(--warn); } .tone-bad { color: var(--bad); }
.tone-info { color: var(--info); } .tone-muted { color: var(--muted); }
.tier.tone-ok { border-left-color: var(--ok); } .tier.tone-warn { border-left-color: var(--warn); background: var(--warn-bg); }
.tier.tone-bad { border-left-color: var(--bad); background: var(--bad-bg); } .tier.tone-info { border-left-color: var(--info); }
.tier { color: var(--text); }
.tier .sub { color: var(--muted); }
.tier .big { font-size: 26px; }
.tier.tone-ok .big { color: var(--ok); } .tier.tone-warn .big { color: var(--warn); }
.tier.tone-bad .big { color: var(--bad); } .tier.tone-info .big { color: var(--info); }
.chip {
  display: inline-block; padding: 1px 8px; border-radius: 999px; font-weight: 600; font-size: 12px;
  border: 1px solid currentColor;
}
section { margin-bottom: 16px; }
.table-wrap { overflow-x: auto; padding: 0; }
table { width: 100%; border-collapse: collapse; }
th, td { padding: 7px 10px; text-align: right; white-space: nowrap; }
thead th { font-size: 12px; font-weight: 600; color: var(--muted); border-bottom: 1px solid var(--border); }
thead tr.group th { text-align: center; padding-bottom: 2px; border-bottom: 0; }
thead tr.group th > span { display: block; border-bottom: 1px solid var(--border); padding-bottom: 4px; }
tbody tr + tr th, tbody tr + tr td { border-top: 1px solid var(--grid); }
tbody tr:hover { background: color-mix(in srgb, var(--accent) 6%, transparent); }
tfoot th, tfoot td { border-top: 2px solid var(--border); font-weight: 600; }
th[scope="row"] { text-align: left; font-weight: 500; max-width: 340px; }
.name-cell { display: flex; align-items: center; gap: 8px; min-width: 0; }
.name { overflow: hidden; text-overflow: ellipsis; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; }
th.first { text-align: left; }
.shared { background: color-mix(in srgb, var(--accent) 4%, transparent); }
table:not(.has-shared) .shared { display: none; }
td.empty { text-align: center; color: var(--muted); padding: 24px; white-space: normal; }
.rate { display: flex; align-items: center; justify-content: flex-end; gap: 8px; }
.bar { width: 72px; height: 8px; border-radius: 4px; background: var(--track); overflow: hidden; flex: none; }
.bar > span { display: block; height: 100%; width: 0; background: var(--accent); border-radius: 4px; transition: width .4s ease; }
.pct { min-width: 56px; }
.zero { color: var(--muted); }
.swatch { width: 10px; height: 10px; border-radius: 3px; flex: none; background: var(--total); }
.charts { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 12px; }
.charts .wide { grid-column: 1 / -1; }
figure { margin: 0; position: relative; }
figure header { display: flex; justify-content: space-between; align-items: baseline; gap: 12px; margin-bottom: 6px; flex-wrap: wrap; }
.note { color: var(--muted); font-size: 12px; }
.plot { position: relative; }
svg { display: block; overflow: visible; }
svg text { fill: var(--muted); font-size: 11px; }
.grid line, .xaxis line { stroke: var(--grid); stroke-width: 1; }
.ylabel { text-anchor: end; dominant-baseline: middle; }
.xlabel { text-anchor: middle; } .xlabel.now { text-anchor: end; }
.empty-text { text-anchor: middle; dominant-baseline: middle; font-size: 13px; }
.line { fill: none; stroke-width: 2; stroke-linejoin: round; stroke-linecap: round; stroke: var(--total); }
.line.dashed { stroke-dasharray: 5 4; }
.line.total { stroke-width: 2.5; }
.dot { stroke: none; fill: var(--total); }
.cross { stroke: var(--muted); stroke-width: 1; stroke-dasharray: 3 3; }
.s0 { --c: var(--c0); } .s1 { --c: var(--c1); } .s2 { --c: var(--c2); } .s3 { --c: var(--c3); }
.s4 { --c: var(--c4); } .s5 { --c: var(--c5); } .s6 { --c: var(--c6); } .s7 { --c: var(--c7); }
.line[class*=" s"] { stroke: var(--c); } .dot[class*=" s"] { fill: var(--c); } .swatch[class*=" s"] { background: var(--c); }
.band-redis { fill: var(--ok); background: var(--ok); } .band-memory { fill: var(--warn); background: var(--warn); }
.band-memory-only { fill: var(--info); background: var(--info); } .band-unreachable { fill: var(--bad); background: var(--bad); }
.band-empty { fill: var(--track); }
.legend { display: flex; flex-wrap: wrap; gap: 4px 16px; list-style: none; margin: 8px 0 0; padding: 0; color: var(--muted); font-size: 12px; }
.legend li { display: flex; align-items: center; gap: 6px; min-width: 0; }
.legend .name { font-size: 12px; max-width: 220px; color: var(--text); }
.legend .label { color: var(--text); }
.legend-value { color: var(--text); font-weight: 600; }
.tooltip {
  position: absolute; top: 0; left: 0; z-index: 2; pointer-events: none; min-width: 140px; max-width: 320px;
  background: var(--panel); border: 1px solid var(--border); border-radius: 6px; padding: 6px 8px;
  box-shadow: 0 4px 14px rgb(0 0 0 / .18); font-size: 12px;
}
.tooltip[hidden] { display: none; }
.tip-time { color: var(--muted); margin-bottom: 2px; }
.tip-row { display: flex; align-items: center; gap: 6px; }
.tip-row .name { flex: 1; font-size: 12px; }
footer { color: var(--muted); font-size: 12px; }
@media (max-width: 900px) {
  .overview { grid-template-columns: 1fr 1fr; }
  .charts { grid-template-columns: 1fr; }
}
@media (prefers-reduced-motion: reduce) { .bar > span { transition: none; } }
`;
