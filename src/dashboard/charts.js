// @ts-check
/**
 * SVG charts for the stats dashboard, no libraries: time-series line charts and a state band with a
 * hover read-out and a legend, and the palette that gives each name one colour in the table and the
 * charts. Labels are set with `textContent` only, because names come from routes and may contain markup.
 *
 * Defines `charts`. Uses `dom` (dom.js).
 */

/**
 * @typedef {object} Series one line: a value per entry of the chart's times, null for none
 * @property {string} cls palette class: `s0`…`s7` or `total`
 * @property {string} label
 * @property {(number | null)[]} values
 * @property {boolean} [dashed]
 *
 * @typedef {{ cls: string, label: string, value?: string, plain?: boolean }} LegendItem
 *   names get the monospace style, plain labels not
 * @typedef {{ t: number, rows: { cls: string, label: string, value: string }[] }} ReadOut
 * @typedef {(t: number) => ReadOut | null} Describe what the hover read-out shows for time `t`, if anything
 *
 * @typedef {object} LineChartOptions
 * @property {number} t0
 * @property {number} t1
 * @property {number} height
 * @property {number} yMax
 * @property {number[]} yTicks
 * @property {(v: number) => string} yFormat
 * @property {number} maxGap a pause longer than this between samples breaks the line
 * @property {number[]} times
 * @property {Series[]} series
 * @property {string} empty shown when no series has a value
 * @property {Describe} describe
 *
 * @typedef {{ from: number, to: number, state: string }} Run
 * @typedef {{ t0: number, t1: number, height: number, runs: Run[], describe: Describe }} BandChartOptions
 */

const charts = (() => {
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const PAD = { l: 58, r: 14, t: 10, b: 24 };
  const PALETTE_SIZE = 8;

  /**
   * @typedef {object} Frame a drawn chart's geometry and layers
   * @property {SVGSVGElement} svg
   * @property {number} w plot width
   * @property {number} h plot height
   * @property {number} t0
   * @property {number} t1
   * @property {(t: number) => number} x
   * @property {(v: number) => number} y
   * @property {SVGGElement} layer
   * @property {SVGLineElement} cross the hover cursor
   *
   * @typedef {{ frame: Frame | null, describe: Describe | null, refreshHover: (() => void) | null }} FigureState
   */

  /** @type {WeakMap<Element, FigureState>} */
  const states = new WeakMap();
  /** @type {Map<string, string>} */
  const colours = new Map();

  /** @param {Element} fig */
  function stateOf(fig) {
    let state = states.get(fig);
    if (!state) {
      state = { frame: null, describe: null, refreshHover: null };
      states.set(fig, state);
    }
    return state;
  }

  /**
   * The palette class of a name (`s0`…`s7`), the same for the page's life.
   * @param {string} name
   * @returns {string}
   */
  function seriesClass(name) {
    let cls = colours.get(name);
    if (cls === undefined) {
      cls = `s${colours.size % PALETTE_SIZE}`;
      colours.set(name, cls);
    }
    return cls;
  }

  /**
   * @template {keyof SVGElementTagNameMap} K
   * @param {Element} parent
   * @param {K} tag
   * @param {Record<string, string | number>} attrs
   * @returns {SVGElementTagNameMap[K]}
   */
  function svgEl(parent, tag, attrs) {
    const node = document.createElementNS(SVG_NS, tag);
    Object.keys(attrs).forEach((k) => { node.setAttribute(k, String(attrs[k])); });
    parent.appendChild(node);
    return node;
  }

  /** @param {number} v */
  function px(v) { return Math.round(v * 10) / 10; }

  /**
   * Rounds an axis maximum up to 1, 2, 2.5 or 5 times a power of ten so tick labels stay short.
   * @param {number} v
   */
  function niceCeil(v) {
    if (!(v > 0)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    const f = v / p;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * p;
  }

  /**
   * Clears the figure's SVG, sizes it to its box and draws the grid and time axis; returns the scales.
   * Without `yTicks` there is no grid (the state band).
   * @param {Element} fig
   * @param {{ t0: number, t1: number, height: number, yMax: number, yTicks?: number[], yFormat?: (v: number) => string }} opts
   * @returns {Frame}
   */
  function chartFrame(fig, opts) {
    const svg = dom.find(fig, 'svg', SVGSVGElement);
    const width = Math.max(240, Math.floor(dom.find(fig, '.plot', HTMLElement).clientWidth));
    dom.clear(svg);
    svg.setAttribute('width', String(width));
    svg.setAttribute('height', String(opts.height));
    svg.setAttribute('viewBox', `0 0 ${width} ${opts.height}`);
    const w = width - PAD.l - PAD.r;
    const h = opts.height - PAD.t - PAD.b;
    /** @param {number} t */
    const x = (t) => PAD.l + (t - opts.t0) / (opts.t1 - opts.t0) * w;
    /** @param {number} v */
    const y = (v) => PAD.t + h - Math.min(v, opts.yMax) / opts.yMax * h;
    const grid = svgEl(svg, 'g', { class: 'grid', 'aria-hidden': 'true' });
    const yFormat = opts.yFormat || String;
    (opts.yTicks || []).forEach((v) => {
      const ty = px(y(v));
      svgEl(grid, 'line', { x1: PAD.l, x2: PAD.l + w, y1: ty, y2: ty });
      svgEl(grid, 'text', { x: PAD.l - 8, y: ty, class: 'ylabel' }).textContent = yFormat(v);
    });
    const axis = svgEl(svg, 'g', { class: 'xaxis', 'aria-hidden': 'true' });
    for (let k = 0; k * 60000 <= opts.t1 - opts.t0; k += 2) {
      const tx = px(x(opts.t1 - k * 60000));
      if (opts.yTicks) svgEl(axis, 'line', { x1: tx, x2: tx, y1: PAD.t, y2: PAD.t + h });
      svgEl(axis, 'text', { x: tx, y: opts.height - 6, class: k === 0 ? 'xlabel now' : 'xlabel' })
        .textContent = k === 0 ? 'now' : `\u2212${k} min`;
    }
    const layer = svgEl(svg, 'g', {});
    const cross = svgEl(svg, 'line', { class: 'cross', y1: PAD.t, y2: PAD.t + h, visibility: 'hidden' });
    const frame = { svg, w, h, t0: opts.t0, t1: opts.t1, x, y, layer, cross };
    stateOf(fig).frame = frame;
    return frame;
  }

  /**
   * @param {Frame} f
   * @param {string} text
   */
  function emptyText(f, text) {
    svgEl(f.layer, 'text', { x: PAD.l + f.w / 2, y: PAD.t + f.h / 2, class: 'empty-text' }).textContent = text;
  }

  /**
   * One series as a path broken at missing values and long pauses; lone points become dots.
   * @param {Frame} f
   * @param {Series} s
   * @param {number[]} times
   * @param {number} maxGap
   */
  function drawSeries(f, s, times, maxGap) {
    let d = '';
    /** @type {[number, number][]} */
    let run = [];
    let lastT = -Infinity;
    const flush = () => {
      if (run.length === 1) svgEl(f.layer, 'circle', { cx: run[0][0], cy: run[0][1], r: 2.5, class: `dot ${s.cls}` });
      else if (run.length > 1) d += `M${run.map((p) => `${p[0]} ${p[1]}`).join('L')}`;
      run = [];
    };
    s.values.forEach((v, i) => {
      if (v === null || times[i] - lastT > maxGap) flush();
      if (v !== null) run.push([px(f.x(times[i])), px(f.y(v))]);
      lastT = times[i];
    });
    flush();
    if (d) svgEl(f.layer, 'path', { d, class: `line ${s.cls}${s.dashed ? ' dashed' : ''}` });
  }

  /**
   * @param {Element} fig
   * @param {LegendItem[]} items
   */
  function fillLegend(fig, items) {
    const ul = dom.find(fig, '.legend', HTMLElement);
    dom.clear(ul);
    items.forEach((item) => {
      const li = document.createElement('li');
      if (item.cls) {
        const sw = document.createElement('span');
        sw.className = `swatch ${item.cls}`;
        sw.setAttribute('aria-hidden', 'true');
        li.appendChild(sw);
      }
      const label = document.createElement('span');
      label.className = item.plain ? 'label' : 'name';
      label.textContent = item.label;
      label.title = item.label;
      li.appendChild(label);
      if (item.value !== undefined) {
        const value = document.createElement('span');
        value.className = 'legend-value';
        value.textContent = item.value;
        li.appendChild(value);
      }
      ul.appendChild(li);
    });
  }

  /**
   * Index of the time nearest `t` in the ascending, non-empty `times`.
   * @param {number[]} times
   * @param {number} t
   */
  function nearestIndex(times, t) {
    let lo = 0;
    let hi = times.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (times[mid] < t) lo = mid + 1; else hi = mid;
    }
    if (lo > 0 && t - times[lo - 1] < times[lo] - t) lo -= 1;
    return lo;
  }

  /**
   * @param {ReadOut} info
   * @param {HTMLElement} tip
   */
  function fillTip(info, tip) {
    dom.clear(tip);
    const head = document.createElement('div');
    head.className = 'tip-time';
    head.textContent = new Date(info.t).toLocaleTimeString();
    tip.appendChild(head);
    info.rows.forEach((r) => {
      const row = document.createElement('div');
      row.className = 'tip-row';
      const sw = document.createElement('span');
      sw.className = `swatch ${r.cls}`;
      const label = document.createElement('span');
      label.className = 'name';
      label.textContent = r.label;
      const value = document.createElement('strong');
      value.textContent = r.value;
      row.append(sw, label, value);
      tip.appendChild(row);
    });
  }

  /**
   * Hover read-out and cursor line for a chart figure; they follow the chart as it redraws.
   * @param {Element} fig
   */
  function enableHover(fig) {
    const state = stateOf(fig);
    const svg = dom.find(fig, 'svg', SVGSVGElement);
    const tip = dom.find(fig, '.tooltip', HTMLElement);
    /** @type {number | null} */
    let lastX = null;
    const hide = () => {
      tip.hidden = true;
      if (state.frame) state.frame.cross.setAttribute('visibility', 'hidden');
    };
    const show = () => {
      const f = state.frame;
      const info = f && state.describe && lastX !== null && lastX >= PAD.l && lastX <= PAD.l + f.w
        ? state.describe(f.t0 + (lastX - PAD.l) / f.w * (f.t1 - f.t0)) : null;
      if (!f || !info) { hide(); return; }
      fillTip(info, tip);
      const x = px(f.x(info.t));
      f.cross.setAttribute('x1', String(x));
      f.cross.setAttribute('x2', String(x));
      f.cross.setAttribute('visibility', 'visible');
      tip.hidden = false;
      const left = x + 12 + tip.offsetWidth > svg.clientWidth ? x - 12 - tip.offsetWidth : x + 12;
      tip.style.left = `${Math.max(0, left)}px`;
      tip.style.top = `${PAD.t}px`;
    };
    svg.addEventListener('pointermove', (ev) => { lastX = ev.clientX - svg.getBoundingClientRect().left; show(); });
    svg.addEventListener('pointerleave', () => { lastX = null; hide(); });
    state.refreshHover = show;
  }

  /**
   * @param {Element} fig
   * @param {Describe} describe
   */
  function setDescribe(fig, describe) {
    const state = stateOf(fig);
    state.describe = describe;
    if (state.refreshHover) state.refreshHover();
  }

  /**
   * @param {Element} fig
   * @param {LineChartOptions} opts
   */
  function lineChart(fig, opts) {
    const f = chartFrame(fig, opts);
    let any = false;
    opts.series.forEach((s) => {
      if (s.values.some((v) => v !== null)) any = true;
      drawSeries(f, s, opts.times, opts.maxGap);
    });
    if (!any) emptyText(f, opts.empty);
    setDescribe(fig, opts.describe);
  }

  /**
   * @param {Element} fig
   * @param {BandChartOptions} opts
   */
  function bandChart(fig, opts) {
    const f = chartFrame(fig, { t0: opts.t0, t1: opts.t1, height: opts.height, yMax: 1 });
    const top = PAD.t;
    const h = opts.height - PAD.t - PAD.b;
    svgEl(f.layer, 'rect', { x: PAD.l, y: top, width: f.w, height: h, rx: 3, class: 'band-empty' });
    opts.runs.forEach((run) => {
      const x0 = Math.max(PAD.l, f.x(run.from));
      const x1 = Math.min(PAD.l + f.w, f.x(run.to));
      if (x1 > x0) svgEl(f.layer, 'rect', { x: px(x0), y: top, width: px(Math.max(1, x1 - x0)), height: h, class: `band-${run.state}` });
    });
    setDescribe(fig, opts.describe);
  }

  return Object.freeze({ seriesClass, niceCeil, nearestIndex, enableHover, lineChart, bandChart, fillLegend });
})();
