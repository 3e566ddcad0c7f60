/**
 * Browser-side per-name table of the stats dashboard (plain ES2017): one row per name, reused across
 * polls so the page does not flicker, with this instance's counters and, when the stats carry them,
 * the all-instances figures. Names are written with `textContent` only.
 *
 * The code is a string so the page can inline it; it must not use backticks or `${`.
 */
export const DASHBOARD_TABLE = String.raw`
var emptyRow = null;
var totalsRow = null;

function addCell(tr, testid, cls) {
  var td = document.createElement('td');
  td.setAttribute('data-testid', testid);
  td.className = cls || '';
  tr.appendChild(td);
  return td;
}

function addRateCell(tr, testid, cls) {
  var td = addCell(tr, testid, cls);
  var wrap = document.createElement('div');
  wrap.className = 'rate';
  var bar = document.createElement('span');
  bar.className = 'bar';
  bar.setAttribute('aria-hidden', 'true');
  var fill = document.createElement('span');
  bar.appendChild(fill);
  var pct = document.createElement('span');
  pct.className = 'pct';
  wrap.append(bar, pct);
  td.appendChild(wrap);
  return { td: td, fill: fill, pct: pct };
}

function makeRow(label, testid, swatchClass) {
  var tr = document.createElement('tr');
  tr.setAttribute('data-testid', testid);
  var th = document.createElement('th');
  th.scope = 'row';
  var cell = document.createElement('div');
  cell.className = 'name-cell';
  var swatch = document.createElement('span');
  swatch.className = 'swatch ' + swatchClass;
  swatch.setAttribute('aria-hidden', 'true');
  var text = document.createElement('span');
  text.className = 'name';
  text.textContent = label;
  text.title = label;
  cell.append(swatch, text);
  th.appendChild(cell);
  tr.appendChild(th);
  var cells = {};
  COUNTERS.forEach(function (field) { cells[field] = addCell(tr, field, 'num'); });
  cells.rate = addRateCell(tr, 'hit-rate', '');
  cells.sharedTotal = addCell(tr, 'shared-total', 'num shared');
  cells.sharedHits = addCell(tr, 'shared-hits', 'num shared');
  cells.sharedRate = addRateCell(tr, 'shared-hit-rate', 'shared');
  return { tr: tr, cells: cells };
}

function setCount(td, value, present) {
  var text = present ? fmtCount(num(value)) : '\u2014';
  if (td.textContent !== text) td.textContent = text;
  td.classList.toggle('zero', !present || num(value) === 0);
}

function setRate(cell, rate) {
  cell.fill.style.width = rate === null ? '0' : (rate * 100).toFixed(1) + '%';
  var text = fmtRate(rate);
  if (cell.pct.textContent !== text) cell.pct.textContent = text;
}

function fillRow(row, local, shared) {
  COUNTERS.forEach(function (field) { setCount(row.cells[field], local && local[field], !!local); });
  row.cells.errors.classList.toggle('tone-bad', !!local && num(local.errors) > 0);
  setRate(row.cells.rate, hitRate(local));
  setCount(row.cells.sharedTotal, shared && shared.total, !!shared);
  setCount(row.cells.sharedHits, shared && num(shared.hits) + num(shared.stale), !!shared);
  setRate(row.cells.sharedRate, hitRate(shared));
}

function fmtWindow(seconds) {
  var s = num(seconds);
  if (s >= 172800 && s % 86400 === 0) return s / 86400 + ' days';
  if (s >= 3600 && s % 3600 === 0) return s / 3600 + ' h';
  if (s >= 60 && s % 60 === 0) return s / 60 + ' min';
  return fmtDuration(s);
}

function sortedNames(local, shared) {
  var seen = {};
  Object.keys(local).concat(Object.keys(shared)).forEach(function (name) { seen[name] = true; });
  function total(of, name) { return num(of[name] && of[name].total); }
  // Busiest here first; names only other instances served go after, by their traffic there.
  return Object.keys(seen).sort(function (a, b) {
    return total(local, b) - total(local, a) || total(shared, b) - total(shared, a) || (a < b ? -1 : a > b ? 1 : 0);
  });
}

function renderTable(data) {
  var shared = data.shared || null;
  q('names-table').classList.toggle('has-shared', !!shared);
  if (shared) setText('shared-window', 'last ' + fmtWindow(shared.windowSeconds));
  var sharedNames = (shared && shared.names) || {};
  var names = sortedNames(data.names, sharedNames);
  var body = q('names-body');
  if (!emptyRow) {
    emptyRow = body.firstElementChild;
    totalsRow = makeRow('All names', 'totals-row', 'total');
    q('totals').appendChild(totalsRow.tr);
  }
  emptyRow.firstElementChild.textContent = 'No lookups yet. Names appear here after the first request through a cached route.';
  rows.forEach(function (row, name) {
    if (names.indexOf(name) < 0) { row.tr.remove(); rows.delete(name); }
  });
  names.forEach(function (name) {
    var row = rows.get(name);
    if (!row) {
      row = makeRow(name, 'name-row', colourOf(name));
      row.tr.setAttribute('data-name', name);
      rows.set(name, row);
    }
    fillRow(row, data.names[name], sharedNames[name]);
  });
  var order = JSON.stringify(names);
  var showEmpty = names.length === 0;
  if (order !== rowOrder || body.contains(emptyRow) !== showEmpty) {
    rowOrder = order;
    if (showEmpty) body.appendChild(emptyRow); else emptyRow.remove();
    names.forEach(function (name) { body.appendChild(rows.get(name).tr); });
  }
  fillRow(totalsRow, data.totals || null, shared && shared.totals);
}
`;
