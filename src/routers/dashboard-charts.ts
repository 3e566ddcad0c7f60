/**
 * Browser-side chart helpers for the stats dashboard (plain ES2017, no libraries): time-series line
 * charts and a state band drawn as inline SVG, with a hover read-out. Series labels are set with
 * `textContent` only, because names come from routes and may contain markup.
 *
 * The code is a string so the page can inline it; it must not use backticks or `${`.
 */
export const DASHBOARD_CHARTS = String.raw`
var SVG_NS = 'http://www.w3.org/2000/svg';
var PAD = { l: 58, r: 14, t: 10, b: 24 };

function svgEl(parent, tag, attrs) {
  var node = document.createElementNS(SVG_NS, tag);
  Object.keys(attrs).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
  parent.appendChild(node);
  return node;
}

function clearNode(node) { while (node.firstChild) node.removeChild(node.firstChild); }

function px(v) { return Math.round(v * 10) / 10; }

// Rounds an axis maximum up to 1, 2, 2.5 or 5 times a power of ten so tick labels stay short.
function niceCeil(v) {
  if (!(v > 0)) return 1;
  var p = Math.pow(10, Math.floor(Math.log10(v)));
  var f = v / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * p;
}

// Clears the figure's SVG, sizes it to its box and draws the grid and time axis; returns the scales.
function chartFrame(fig, opts) {
  var svg = fig.querySelector('svg');
  var width = Math.max(240, Math.floor(fig.querySelector('.plot').clientWidth));
  clearNode(svg);
  svg.setAttribute('width', width);
  svg.setAttribute('height', opts.height);
  svg.setAttribute('viewBox', '0 0 ' + width + ' ' + opts.height);
  var f = { svg: svg, w: width - PAD.l - PAD.r, h: opts.height - PAD.t - PAD.b, t0: opts.t0, t1: opts.t1 };
  f.x = function (t) { return PAD.l + (t - f.t0) / (f.t1 - f.t0) * f.w; };
  f.y = function (v) { return PAD.t + f.h - Math.min(v, opts.yMax) / opts.yMax * f.h; };
  var grid = svgEl(svg, 'g', { class: 'grid', 'aria-hidden': 'true' });
  (opts.yTicks || []).forEach(function (v) {
    var y = px(f.y(v));
    svgEl(grid, 'line', { x1: PAD.l, x2: PAD.l + f.w, y1: y, y2: y });
    svgEl(grid, 'text', { x: PAD.l - 8, y: y, class: 'ylabel' }).textContent = opts.yFormat(v);
  });
  var axis = svgEl(svg, 'g', { class: 'xaxis', 'aria-hidden': 'true' });
  for (var k = 0; k * 60000 <= f.t1 - f.t0; k += 2) {
    var x = px(f.x(f.t1 - k * 60000));
    if (opts.yTicks) svgEl(axis, 'line', { x1: x, x2: x, y1: PAD.t, y2: PAD.t + f.h });
    svgEl(axis, 'text', { x: x, y: opts.height - 6, class: k === 0 ? 'xlabel now' : 'xlabel' })
      .textContent = k === 0 ? 'now' : '\u2212' + k + ' min';
  }
  f.layer = svgEl(svg, 'g', {});
  f.cross = svgEl(svg, 'line', { class: 'cross', y1: PAD.t, y2: PAD.t + f.h, visibility: 'hidden' });
  fig._frame = f;
  return f;
}

function emptyText(f, text) {
  svgEl(f.layer, 'text', { x: PAD.l + f.w / 2, y: PAD.t + f.h / 2, class: 'empty-text' }).textContent = text;
}

// One series as a path broken at missing values and long pauses; lone points become dots.
function drawSeries(f, s, times, maxGap) {
  var d = '';
  var run = [];
  var lastT = -Infinity;
  function flush() {
    if (run.length === 1) svgEl(f.layer, 'circle', { cx: run[0][0], cy: run[0][1], r: 2.5, class: 'dot ' + s.cls });
    else if (run.length > 1) d += 'M' + run.map(function (p) { return p[0] + ' ' + p[1]; }).join('L');
    run = [];
  }
  s.values.forEach(function (v, i) {
    if (v === null || times[i] - lastT > maxGap) flush();
    if (v !== null) run.push([px(f.x(times[i])), px(f.y(v))]);
    lastT = times[i];
  });
  flush();
  if (d) svgEl(f.layer, 'path', { d: d, class: 'line ' + s.cls + (s.dashed ? ' dashed' : '') });
}

// Legend items { cls, label, value?, plain? } as text nodes; names get the monospace style, plain labels not.
function fillLegend(fig, items) {
  var ul = fig.querySelector('.legend');
  clearNode(ul);
  items.forEach(function (item) {
    var li = document.createElement('li');
    if (item.cls) {
      var sw = document.createElement('span');
      sw.className = 'swatch ' + item.cls;
      sw.setAttribute('aria-hidden', 'true');
      li.appendChild(sw);
    }
    var label = document.createElement('span');
    label.className = item.plain ? 'label' : 'name';
    label.textContent = item.label;
    label.title = item.label;
    li.appendChild(label);
    if (item.value !== undefined) {
      var value = document.createElement('span');
      value.className = 'legend-value';
      value.textContent = item.value;
      li.appendChild(value);
    }
    ul.appendChild(li);
  });
}

function nearestIndex(times, t) {
  var lo = 0;
  var hi = times.length - 1;
  while (lo < hi) {
    var mid = (lo + hi) >> 1;
    if (times[mid] < t) lo = mid + 1; else hi = mid;
  }
  if (lo > 0 && t - times[lo - 1] < times[lo] - t) lo -= 1;
  return lo;
}

// Hover read-out: fig._describe(t) returns { t, rows: [{ cls, label, value }] } or null.
function enableHover(fig) {
  var svg = fig.querySelector('svg');
  var tip = fig.querySelector('.tooltip');
  var lastX = null;
  function hide() { tip.hidden = true; if (fig._frame) fig._frame.cross.setAttribute('visibility', 'hidden'); }
  function show() {
    var f = fig._frame;
    var info = f && fig._describe && lastX !== null && lastX >= PAD.l && lastX <= PAD.l + f.w
      ? fig._describe(f.t0 + (lastX - PAD.l) / f.w * (f.t1 - f.t0)) : null;
    if (!info) { hide(); return; }
    clearNode(tip);
    var head = document.createElement('div');
    head.className = 'tip-time';
    head.textContent = new Date(info.t).toLocaleTimeString();
    tip.appendChild(head);
    info.rows.forEach(function (r) {
      var row = document.createElement('div');
      row.className = 'tip-row';
      var sw = document.createElement('span');
      sw.className = 'swatch ' + r.cls;
      var label = document.createElement('span');
      label.className = 'name';
      label.textContent = r.label;
      var value = document.createElement('strong');
      value.textContent = r.value;
      row.append(sw, label, value);
      tip.appendChild(row);
    });
    var x = px(f.x(info.t));
    f.cross.setAttribute('x1', x);
    f.cross.setAttribute('x2', x);
    f.cross.setAttribute('visibility', 'visible');
    tip.hidden = false;
    var left = x + 12 + tip.offsetWidth > svg.clientWidth ? x - 12 - tip.offsetWidth : x + 12;
    tip.style.left = Math.max(0, left) + 'px';
    tip.style.top = PAD.t + 'px';
  }
  svg.addEventListener('pointermove', function (ev) { lastX = ev.clientX - svg.getBoundingClientRect().left; show(); });
  svg.addEventListener('pointerleave', function () { lastX = null; hide(); });
  fig._refreshHover = show;
}

/**
 * opts: { t0, t1, height, yMax, yTicks, yFormat, maxGap, times, series: [{ cls, label, values, dashed }],
 * empty, describe }
 */
function lineChart(fig, opts) {
  var f = chartFrame(fig, opts);
  var any = false;
  opts.series.forEach(function (s) {
    if (s.values.some(function (v) { return v !== null; })) any = true;
    drawSeries(f, s, opts.times, opts.maxGap);
  });
  if (!any) emptyText(f, opts.empty);
  fig._describe = opts.describe;
  if (fig._refreshHover) fig._refreshHover();
}

/** opts: { t0, t1, height, runs: [{ from, to, state }], describe } */
function bandChart(fig, opts) {
  var f = chartFrame(fig, { t0: opts.t0, t1: opts.t1, height: opts.height, yMax: 1 });
  var top = PAD.t;
  var h = opts.height - PAD.t - PAD.b;
  svgEl(f.layer, 'rect', { x: PAD.l, y: top, width: f.w, height: h, rx: 3, class: 'band-empty' });
  opts.runs.forEach(function (run) {
    var x0 = Math.max(PAD.l, f.x(run.from));
    var x1 = Math.min(PAD.l + f.w, f.x(run.to));
    if (x1 > x0) svgEl(f.layer, 'rect', { x: px(x0), y: top, width: px(Math.max(1, x1 - x0)), height: h, class: 'band-' + run.state });
  });
  fig._describe = opts.describe;
  if (fig._refreshHover) fig._refreshHover();
}
`;
