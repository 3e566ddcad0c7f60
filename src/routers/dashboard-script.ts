/**
 * Browser-side logic of the stats dashboard (plain ES2017): polls the page's own URL for JSON, keeps
 * ten minutes of samples, and renders the overview, the per-name table and the charts (helpers from
 * dashboard-charts.ts). Names are only ever written with `textContent`.
 *
 * The code is a string so the page can inline it; it must not use backticks or `${`.
 */
export const DASHBOARD_SCRIPT = String.raw`
var WINDOW_MS = 10 * 60 * 1000;
var RECENT_MS = 60 * 1000;
var SMOOTH_MS = 10 * 1000;
var CHARTED_NAMES = 8;
var LATENCY_TIERS = ['memory', 'redis', 'handler'];
var TIER_INFO = {
  redis: { label: 'Redis', tone: 'ok', hint: 'Cached in Redis, shared by all instances.' },
  memory: { label: 'Memory fallback', tone: 'warn', hint: 'Redis is configured but unavailable: caching in this instance\u2019s memory until it recovers.' },
  'memory-only': { label: 'Memory only', tone: 'info', hint: 'No Redis configured: each instance caches in its own memory.' },
  unreachable: { label: 'Stats unreachable', tone: 'bad', hint: '' }
};
var BREAKER_TONE = { closed: 'ok', 'half-open': 'warn', open: 'bad', disabled: 'muted' };
var COUNTERS = ['total', 'hits', 'stale', 'misses', 'bypasses', 'errors'];

var interval = readInterval(new URLSearchParams(location.search).get('interval'));
var dataUrl = location.pathname;
var baseTitle = document.title;
var samples = [];      // { t, ok, tier, names: { name: delta }, total: delta, latency: { tier: { p50, p99 } | null } }
var baseline = null;   // last counters seen, to turn lifetime counters into per-poll deltas
var colours = new Map();
var rows = new Map();
var rowOrder = '';
var lastOkAt = 0;

function readInterval(raw) {
  var ms = Number(raw);
  return raw !== null && isFinite(ms) ? Math.min(60000, Math.max(100, Math.round(ms))) : 2000;
}

function q(id) { return document.querySelector('[data-testid="' + id + '"]'); }
function setText(id, text) { var node = q(id); if (node.textContent !== text) node.textContent = text; }
function num(v) { return typeof v === 'number' && isFinite(v) ? v : 0; }

var intFormat = new Intl.NumberFormat('en-US');
var compactFormat = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });
function fmtCount(n) { return typeof n === 'number' && isFinite(n) ? intFormat.format(n) : '\u2014'; }
function fmtCompact(n) { return n >= 100000 ? compactFormat.format(n) : fmtCount(n); }
// Floors so that 99.96 % never reads as 100 %.
function fmtRate(r) {
  if (typeof r !== 'number' || !isFinite(r)) return '\u2014';
  return r >= 1 ? '100 %' : (Math.floor(r * 1000) / 10).toFixed(1) + ' %';
}
function fmtMs(ms) {
  if (typeof ms !== 'number' || !isFinite(ms)) return '\u2014';
  if (ms === 0) return '0 ms';
  if (ms < 1) return ms.toFixed(2) + ' ms';
  if (ms < 10) return ms.toFixed(1) + ' ms';
  if (ms < 1000) return Math.round(ms) + ' ms';
  return parseFloat((ms / 1000).toFixed(ms < 10000 ? 2 : 1)) + ' s';
}
function fmtDuration(s) {
  if (typeof s !== 'number' || !isFinite(s) || s < 0) return '\u2014';
  if (s < 60) return Math.floor(s) + ' s';
  var m = Math.floor(s / 60);
  if (m < 60) return m + ' min ' + Math.floor(s % 60) + ' s';
  var h = Math.floor(m / 60);
  return h < 48 ? h + ' h ' + (m % 60) + ' min' : Math.floor(h / 24) + ' d ' + (h % 24) + ' h';
}
function fmtBytes(b) {
  var units = ['B', 'KB', 'MB', 'GB', 'TB'];
  var i = 0;
  for (; b >= 1024 && i < units.length - 1; i++) b /= 1024;
  return (i === 0 || b >= 100 ? Math.round(b) : b.toFixed(1)) + ' ' + units[i];
}
function fmtClock(t) { return new Date(t).toLocaleTimeString(); }

function hitRate(c) {
  var looked = c ? num(c.hits) + num(c.stale) + num(c.misses) : 0;
  if (looked === 0) return null;
  return typeof c.hitRate === 'number' ? c.hitRate : (num(c.hits) + num(c.stale)) / looked;
}
function colourOf(name) {
  if (!colours.has(name)) colours.set(name, 's' + (colours.size % 8));
  return colours.get(name);
}

function start() {
  document.querySelectorAll('figure').forEach(enableHover);
  var pending = false;
  window.addEventListener('resize', function () {
    if (pending) return;
    pending = true;
    requestAnimationFrame(function () { pending = false; renderCharts(Date.now()); });
  });
  setInterval(tickAge, 1000);
  setText('interval', fmtMs(interval));
  renderCharts(Date.now());
  poll();
}

// ---- polling -------------------------------------------------------------------------------------

function poll() {
  var controller = new AbortController();
  var timeout = Math.max(5000, interval * 3);
  var timer = setTimeout(function () { controller.abort(); }, timeout);
  fetch(dataUrl, { headers: { Accept: 'application/json' }, cache: 'no-store', credentials: 'same-origin', signal: controller.signal })
    .then(function (res) {
      if (!res.ok) throw new Error('the server answered ' + res.status + (res.statusText ? ' ' + res.statusText : ''));
      return res.json();
    })
    .then(function (data) {
      if (!data || typeof data.names !== 'object' || !data.tier) throw new Error('the answer is not the stats JSON');
      onData(data);
    })
    .catch(function (err) {
      onError(err && err.name === 'AbortError' ? 'no answer within ' + timeout / 1000 + ' s' : String(err && err.message || err));
    })
    .then(function () {
      clearTimeout(timer);
      setTimeout(poll, interval);
    });
}

function counts(c) { return { g: num(c && c.hits) + num(c && c.stale), m: num(c && c.misses) }; }
function diff(now, before) {
  var g = now.g - before.g;
  var m = now.m - before.m;
  return g < 0 || m < 0 ? null : { g: g, m: m };   // counters went back: reset or restart
}

function takeSample(data, t) {
  var id = data.instance && data.instance.id;
  var base = baseline && baseline.id === id ? baseline : null;
  var next = { id: id, total: counts(data.totals), names: {} };
  var sample = { t: t, ok: true, tier: data.tier.state, names: {}, total: base ? diff(next.total, base.total) : null, latency: {} };
  Object.keys(data.names).forEach(function (name) {
    next.names[name] = counts(data.names[name]);
    if (base) sample.names[name] = diff(next.names[name], base.names[name] || { g: 0, m: 0 });
  });
  LATENCY_TIERS.forEach(function (tier) {
    var l = data.latency && data.latency[tier];
    sample.latency[tier] = l && l.count > 0 ? { p50: num(l.p50), p99: num(l.p99), count: num(l.count) } : null;
  });
  baseline = next;
  return sample;
}

function addSample(sample) {
  samples.push(sample);
  while (samples.length && samples[0].t < sample.t - WINDOW_MS) samples.shift();
}

function onData(data) {
  var now = Date.now();
  lastOkAt = now;
  addSample(takeSample(data, now));
  q('error-state').hidden = true;
  document.body.classList.remove('is-stale');
  var time = q('last-updated');
  time.dateTime = new Date(now).toISOString();
  time.textContent = fmtClock(now);
  renderOverview(data);
  renderTable(data);
  renderCharts(now);
  tickAge();
}

function onError(message) {
  var now = Date.now();
  addSample({ t: now, ok: false, tier: 'unreachable', names: {}, total: null, latency: {} });
  setText('error-message', 'Could not load ' + dataUrl + ': ' + message + '. Retrying every ' + fmtMs(interval) +
    (lastOkAt ? '; the figures below are from ' + fmtClock(lastOkAt) + '.' : '.'));
  q('error-state').hidden = false;
  document.body.classList.add('is-stale');
  document.title = '\u26a0 ' + baseTitle;
  renderCharts(now);
  tickAge();
}

function tickAge() {
  setText('updated-age', lastOkAt ? '(' + fmtDuration((Date.now() - lastOkAt) / 1000) + ' ago)' : '');
}

// ---- overview ------------------------------------------------------------------------------------

function setTone(node, tone) {
  node.className = node.className.replace(/\btone-\w+/g, '').trim() + ' tone-' + tone;
}

function recentRate(pick) {
  var g = 0;
  var m = 0;
  var from = Date.now() - RECENT_MS;
  samples.forEach(function (s) {
    var d = s.t >= from ? pick(s) : null;
    if (d) { g += d.g; m += d.m; }
  });
  return g + m > 0 ? g / (g + m) : null;
}

function renderOverview(data) {
  var tier = TIER_INFO[data.tier.state] || { label: String(data.tier.state), tone: 'muted', hint: '' };
  var state = q('tier-state');
  state.setAttribute('data-state', data.tier.state);
  setText('tier-state', tier.label);
  setText('tier-hint', tier.hint);
  setTone(q('tier-card'), tier.tone);
  var breaker = q('breaker-state');
  setText('breaker-state', String(data.tier.breaker));
  setTone(breaker, BREAKER_TONE[data.tier.breaker] || 'muted');
  var since = Date.parse(data.tier.since);
  var at = Date.parse(data.generatedAt);
  setText('tier-since', isFinite(since) && isFinite(at) ? '\u00b7 last change ' + fmtDuration((at - since) / 1000) + ' ago' : '');
  document.title = (tier.tone === 'ok' ? '' : '\u26a0 ' + tier.label + ' \u00b7 ') + baseTitle;
  setText('tier-extra', tierExtra(data.tier));

  setText('instance-id', String(data.instance && data.instance.id || 'unknown'));
  setText('uptime', fmtDuration(data.instance && data.instance.uptimeSeconds));
  setText('interval', fmtMs(interval));

  var t = data.totals || {};
  setText('total-hit-rate', fmtRate(hitRate(t)));
  setText('recent-hit-rate', fmtRate(recentRate(function (s) { return s.total; })));
  setText('total-lookups', fmtCompact(num(t.total)));
  setText('total-breakdown', fmtCount(num(t.hits)) + ' hits \u00b7 ' + fmtCount(num(t.stale)) + ' stale \u00b7 ' +
    fmtCount(num(t.misses)) + ' misses \u00b7 ' + fmtCount(num(t.bypasses)) + ' bypassed');
  renderSideCard(data, t);
}

// Optional tier details the stats may carry: the memory tier's size and invalidations queued for Redis.
function tierExtra(t) {
  var parts = [];
  if (typeof t.memoryEntries === 'number') {
    parts.push('memory tier ' + fmtCount(t.memoryEntries) + ' entries' + (typeof t.memoryBytes === 'number' ? ', ' + fmtBytes(t.memoryBytes) : ''));
  }
  if (num(t.pendingInvalidations) > 0) parts.push(fmtCount(t.pendingInvalidations) + ' invalidations waiting for Redis');
  if (num(t.redisErrors) > 0) parts.push(fmtCount(t.redisErrors) + ' Redis errors');
  return parts.join(' \u00b7 ');
}

// Redis figures when the stats include them, else the error count.
function renderSideCard(data, t) {
  if (data.redis) {
    setText('side-title', 'Redis memory');
    setText('side-value', data.redis.usedMemoryBytes ? fmtBytes(data.redis.usedMemoryBytes) : String(data.redis.usedMemory));
    var k = num(data.redis.keyspaceHits) + num(data.redis.keyspaceMisses);
    var clients = num(data.redis.connectedClients);
    setText('side-detail', fmtCount(clients) + (clients === 1 ? ' client' : ' clients') + ' \u00b7 keyspace hit rate ' +
      fmtRate(k > 0 ? num(data.redis.keyspaceHits) / k : null) + ' \u00b7 ' + fmtCount(num(t.errors)) + ' cache errors');
  } else {
    setText('side-title', 'Errors');
    setText('side-value', fmtCount(num(t.errors)));
    setText('side-detail', num(t.errors) > 0 ? 'cache store failures; the requests were still served' : 'no cache store failures');
  }
}
`;
