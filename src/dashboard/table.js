// @ts-check
/**
 * The dashboard's per-name table: one row per name, reused across polls so the page does not flicker,
 * with this instance's counters and, when the stats carry them, the all-instances figures. Names are
 * written with `textContent` only.
 *
 * Defines `createTable`. Uses `dom` (dom.js), `figures` (figures.js) and `charts.seriesClass` (charts.js).
 */

/**
 * @typedef {'total' | 'hits' | 'stale' | 'misses' | 'bypasses' | 'errors'} CounterField
 * @typedef {{ td: HTMLTableCellElement, fill: HTMLSpanElement, pct: HTMLSpanElement }} RateCell
 * @typedef {object} Row
 * @property {HTMLTableRowElement} tr
 * @property {Record<CounterField, HTMLTableCellElement>} counts
 * @property {RateCell} rate
 * @property {HTMLTableCellElement} sharedTotal
 * @property {HTMLTableCellElement} sharedHits
 * @property {RateCell} sharedRate
 */

function createTable() {
  /** @type {readonly CounterField[]} */
  const COUNTERS = Object.freeze(['total', 'hits', 'stale', 'misses', 'bypasses', 'errors']);
  /** @type {Map<string, Row>} */
  const rows = new Map();
  let rowOrder = '';
  /**
   * Found or made on the first render: the "no lookups yet" row (in the body while there are no names)
   * and the totals row.
   * @type {{ empty: HTMLTableRowElement, totals: Row } | null}
   */
  let fixed = null;

  /**
   * @param {HTMLTableRowElement} tr
   * @param {string} testid
   * @param {string} cls
   */
  function addCell(tr, testid, cls) {
    const td = document.createElement('td');
    td.setAttribute('data-testid', testid);
    td.className = cls;
    tr.appendChild(td);
    return td;
  }

  /**
   * @param {HTMLTableRowElement} tr
   * @param {string} testid
   * @param {string} cls
   * @returns {RateCell}
   */
  function addRateCell(tr, testid, cls) {
    const td = addCell(tr, testid, cls);
    const wrap = document.createElement('div');
    wrap.className = 'rate';
    const bar = document.createElement('span');
    bar.className = 'bar';
    bar.setAttribute('aria-hidden', 'true');
    const fill = document.createElement('span');
    bar.appendChild(fill);
    const pct = document.createElement('span');
    pct.className = 'pct';
    wrap.append(bar, pct);
    td.appendChild(wrap);
    return { td, fill, pct };
  }

  /**
   * @param {string} label
   * @param {string} testid
   * @param {string} swatchClass
   * @returns {Row}
   */
  function makeRow(label, testid, swatchClass) {
    const tr = document.createElement('tr');
    tr.setAttribute('data-testid', testid);
    const th = document.createElement('th');
    th.scope = 'row';
    const cell = document.createElement('div');
    cell.className = 'name-cell';
    const swatch = document.createElement('span');
    swatch.className = `swatch ${swatchClass}`;
    swatch.setAttribute('aria-hidden', 'true');
    const text = document.createElement('span');
    text.className = 'name';
    text.textContent = label;
    text.title = label;
    cell.append(swatch, text);
    th.appendChild(cell);
    tr.appendChild(th);
    const counts = /** @type {Record<CounterField, HTMLTableCellElement>} */ ({});
    COUNTERS.forEach((field) => { counts[field] = addCell(tr, field, 'num'); });
    return {
      tr,
      counts,
      rate: addRateCell(tr, 'hit-rate', ''),
      sharedTotal: addCell(tr, 'shared-total', 'num shared'),
      sharedHits: addCell(tr, 'shared-hits', 'num shared'),
      sharedRate: addRateCell(tr, 'shared-hit-rate', 'shared'),
    };
  }

  /**
   * @param {HTMLTableCellElement} td
   * @param {unknown} value
   * @param {boolean} present
   */
  function setCount(td, value, present) {
    const text = present ? figures.count(figures.num(value)) : '\u2014';
    if (td.textContent !== text) td.textContent = text;
    td.classList.toggle('zero', !present || figures.num(value) === 0);
  }

  /**
   * @param {RateCell} cell
   * @param {number | null} rate
   */
  function setRate(cell, rate) {
    cell.fill.style.width = rate === null ? '0' : `${(rate * 100).toFixed(1)}%`;
    const text = figures.rate(rate);
    if (cell.pct.textContent !== text) cell.pct.textContent = text;
  }

  /**
   * @param {Row} row
   * @param {Counters | null | undefined} local
   * @param {Counters | null | undefined} shared
   */
  function fillRow(row, local, shared) {
    COUNTERS.forEach((field) => { setCount(row.counts[field], local && local[field], !!local); });
    row.counts.errors.classList.toggle('tone-bad', !!local && figures.num(local.errors) > 0);
    setRate(row.rate, figures.hitRate(local));
    setCount(row.sharedTotal, shared && shared.total, !!shared);
    setCount(row.sharedHits, shared && figures.num(shared.hits) + figures.num(shared.stale), !!shared);
    setRate(row.sharedRate, figures.hitRate(shared));
  }

  /**
   * Busiest here first; names only other instances served go after, by their traffic there.
   * @param {Record<string, Counters>} local
   * @param {Record<string, Counters>} shared
   */
  function sortedNames(local, shared) {
    /** @type {Record<string, true>} */
    const seen = {};
    Object.keys(local).concat(Object.keys(shared)).forEach((name) => { seen[name] = true; });
    /**
     * @param {Record<string, Counters>} of
     * @param {string} name
     */
    const total = (of, name) => figures.num(of[name] && of[name].total);
    return Object.keys(seen).sort((a, b) =>
      total(local, b) - total(local, a) || total(shared, b) - total(shared, a) || (a < b ? -1 : a > b ? 1 : 0));
  }

  /** @param {StatsJson} data */
  function render(data) {
    const shared = data.shared || null;
    dom.byTestId('names-table').classList.toggle('has-shared', !!shared);
    if (shared) dom.setText('shared-window', `last ${figures.windowLength(shared.windowSeconds)}`);
    const sharedNames = (shared && shared.names) || {};
    const names = sortedNames(data.names, sharedNames);
    const body = dom.byTestId('names-body');
    if (!fixed) {
      fixed = { empty: dom.find(body, 'tr', HTMLTableRowElement), totals: makeRow('All names', 'totals-row', 'total') };
      dom.byTestId('totals').appendChild(fixed.totals.tr);
    }
    const { empty: emptyRow, totals: totalsRow } = fixed;
    dom.find(emptyRow, 'td', HTMLTableCellElement).textContent =
      'No lookups yet. Names appear here after the first request through a cached route.';
    rows.forEach((row, name) => {
      if (names.indexOf(name) < 0) { row.tr.remove(); rows.delete(name); }
    });
    /** @type {Row[]} */
    const ordered = names.map((name) => {
      let row = rows.get(name);
      if (!row) {
        row = makeRow(name, 'name-row', charts.seriesClass(name));
        row.tr.setAttribute('data-name', name);
        rows.set(name, row);
      }
      fillRow(row, data.names[name], sharedNames[name]);
      return row;
    });
    const order = JSON.stringify(names);
    const showEmpty = names.length === 0;
    if (order !== rowOrder || body.contains(emptyRow) !== showEmpty) {
      rowOrder = order;
      if (showEmpty) body.appendChild(emptyRow); else emptyRow.remove();
      ordered.forEach((row) => { body.appendChild(row.tr); });
    }
    fillRow(totalsRow, data.totals || null, shared && shared.totals);
  }

  return Object.freeze({ render });
}
