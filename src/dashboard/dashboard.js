// @ts-check
/**
 * The stats dashboard's entry script: polls the page's own URL for the stats JSON and fills the
 * overview, the per-name table (table.js) and the history charts (history-charts.js) from it.
 * `?interval=ms` on the page's URL sets the poll interval (100 ms to 60 s, default 2 s).
 *
 * Inlined last, and the only script file that runs anything: the others only define their one name.
 * Defines `startDashboard` and calls it. Uses `dom`, `figures`, `createSamples`, `createTable` and
 * `createHistoryCharts`.
 */

function startDashboard() {
  /** @type {Readonly<Record<string, TierLook>>} */
  const TIER_INFO = Object.freeze({
    redis: { label: 'Redis', tone: 'ok', hint: 'Cached in Redis, shared by all instances.' },
    memory: { label: 'Memory fallback', tone: 'warn', hint: 'Redis is configured but unavailable: caching in this instance\u2019s memory until it recovers.' },
    'memory-only': { label: 'Memory only', tone: 'info', hint: 'No Redis configured: each instance caches in its own memory.' },
    unreachable: { label: 'Stats unreachable', tone: 'bad', hint: '' },
  });
  /** @type {Readonly<Record<string, string>>} */
  const BREAKER_TONE = Object.freeze({ closed: 'ok', 'half-open': 'warn', open: 'bad', disabled: 'muted' });
  /** @type {Readonly<Record<string, TierLook>>} */
  const NEAR_CACHE_INFO = Object.freeze({
    live: { label: 'live', tone: 'ok', hint: 'copies of Redis entries served from this process' },
    off: { label: 'off', tone: 'warn', hint: 'not subscribed to invalidations now: hits read Redis' },
    disabled: { label: 'disabled', tone: 'muted', hint: '' },
  });

  const interval = readInterval(new URLSearchParams(location.search).get('interval'));
  const dataUrl = location.pathname;
  const baseTitle = document.title;
  const samples = createSamples({ intervalMs: interval });
  const table = createTable();
  const historyCharts = createHistoryCharts({ samples, intervalMs: interval, tiers: TIER_INFO });
  let lastOkAt = 0;
  /** Refused writes at the previous poll, to tell writes refused now from old ones. @type {number | null} */
  let previousRefused = null;

  /** @param {string | null} raw */
  function readInterval(raw) {
    const ms = Number(raw);
    return raw !== null && isFinite(ms) ? Math.min(60000, Math.max(100, Math.round(ms))) : 2000;
  }

  // ---- polling -----------------------------------------------------------------------------------

  function poll() {
    const controller = new AbortController();
    const timeout = Math.max(5000, interval * 3);
    const timer = setTimeout(() => { controller.abort(); }, timeout);
    fetch(dataUrl, { headers: { Accept: 'application/json' }, cache: 'no-store', credentials: 'same-origin', signal: controller.signal })
      .then((res) => {
        if (!res.ok) throw new Error(`the server answered ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`);
        return res.json();
      })
      .then((data) => {
        if (!data || typeof data.names !== 'object' || !data.tier) throw new Error('the answer is not the stats JSON');
        onData(data);
      })
      .catch((err) => {
        onError(err && err.name === 'AbortError' ? `no answer within ${timeout / 1000} s` : String((err && err.message) || err));
      })
      .then(() => {
        clearTimeout(timer);
        setTimeout(poll, interval);
      });
  }

  /** @param {StatsJson} data */
  function onData(data) {
    const now = Date.now();
    lastOkAt = now;
    samples.record(data, now);
    dom.byTestId('error-state').hidden = true;
    document.body.classList.remove('is-stale');
    const time = dom.find(document, '[data-testid="last-updated"]', HTMLTimeElement);
    time.dateTime = new Date(now).toISOString();
    time.textContent = figures.clock(now);
    renderOverview(data);
    table.render(data);
    historyCharts.render(now);
    tickAge();
  }

  /** @param {string} message */
  function onError(message) {
    const now = Date.now();
    samples.recordFailure(now);
    dom.setText('error-message', `Could not load ${dataUrl}: ${message}. Retrying every ${figures.ms(interval)}` +
      (lastOkAt ? `; the figures below are from ${figures.clock(lastOkAt)}.` : '.'));
    dom.byTestId('error-state').hidden = false;
    document.body.classList.add('is-stale');
    document.title = `\u26a0 ${baseTitle}`;
    historyCharts.render(now);
    tickAge();
  }

  function tickAge() {
    dom.setText('updated-age', lastOkAt ? `(${figures.duration((Date.now() - lastOkAt) / 1000)} ago)` : '');
  }

  // ---- overview ----------------------------------------------------------------------------------

  /**
   * @param {Element} node
   * @param {string} tone
   */
  function setTone(node, tone) {
    node.className = `${node.className.replace(/\btone-\w+/g, '').trim()} tone-${tone}`;
  }

  /** @param {StatsJson} data */
  function renderOverview(data) {
    const tier = TIER_INFO[data.tier.state] || { label: String(data.tier.state), tone: 'muted', hint: '' };
    dom.byTestId('tier-state').setAttribute('data-state', data.tier.state);
    dom.setText('tier-state', tier.label);
    dom.setText('tier-hint', tier.hint);
    setTone(dom.byTestId('tier-card'), tier.tone);
    dom.setText('breaker-state', String(data.tier.breaker));
    setTone(dom.byTestId('breaker-state'), BREAKER_TONE[data.tier.breaker] || 'muted');
    const since = Date.parse(data.tier.since);
    const at = Date.parse(data.generatedAt);
    dom.setText('tier-since', isFinite(since) && isFinite(at) ? `\u00b7 last change ${figures.duration((at - since) / 1000)} ago` : '');
    document.title = (tier.tone === 'ok' ? '' : `\u26a0 ${tier.label} \u00b7 `) + baseTitle;
    dom.setText('tier-extra', tierExtra(data.tier));
    renderNearCache(data.tier);
    renderRefusedWrites(data.tier);
    renderServedFrom(data.tier);

    dom.setText('instance-id', String((data.instance && data.instance.id) || 'unknown'));
    dom.setText('uptime', figures.duration(data.instance && data.instance.uptimeSeconds));
    dom.setText('interval', figures.ms(interval));

    const t = data.totals || {};
    dom.setText('total-hit-rate', figures.rate(figures.hitRate(t)));
    dom.setText('recent-hit-rate', figures.rate(samples.recentRate((s) => s.total)));
    dom.setText('total-lookups', figures.compact(figures.num(t.total)));
    dom.setText('total-breakdown', `${figures.count(figures.num(t.hits))} hits \u00b7 ${figures.count(figures.num(t.stale))} stale \u00b7 ` +
      `${figures.count(figures.num(t.misses))} misses \u00b7 ${figures.count(figures.num(t.bypasses))} bypassed`);
    renderSideCard(data, t);
  }

  /**
   * Optional tier details the stats may carry: the memory tier's size and invalidations queued for Redis.
   * @param {TierReport} t
   */
  function tierExtra(t) {
    /** @type {string[]} */
    const parts = [];
    if (typeof t.memoryEntries === 'number') {
      parts.push(`memory tier ${figures.count(t.memoryEntries)} entries` + (typeof t.memoryBytes === 'number' ? `, ${figures.bytes(t.memoryBytes)}` : ''));
    }
    if (figures.num(t.pendingInvalidations) > 0) parts.push(`${figures.count(t.pendingInvalidations)} invalidations waiting for Redis`);
    if (figures.num(t.redisErrors) > 0) parts.push(`${figures.count(t.redisErrors)} Redis errors`);
    return parts.join(' \u00b7 ');
  }

  /** @param {TierReport} t */
  function renderNearCache(t) {
    const state = String(t.nearCache || 'disabled');
    const look = NEAR_CACHE_INFO[state] || { label: state, tone: 'muted', hint: '' };
    dom.setText('near-cache-state', look.label);
    setTone(dom.byTestId('near-cache-state'), look.tone);
    const why = t.breaker === 'disabled' ? 'no Redis configured' : 'turned off by the nearCache option';
    dom.setText('near-cache-hint', `\u00b7 ${state === 'disabled' ? why : look.hint}`);
  }

  /**
   * Shown while Redis is configured. The count only grows, so it is marked while writes are being refused: when it
   * grew since the previous poll.
   * @param {TierReport} t
   */
  function renderRefusedWrites(t) {
    const line = dom.byTestId('refused-writes-line');
    line.hidden = t.breaker === 'disabled' || typeof t.refusedWrites !== 'number';
    const refused = figures.num(t.refusedWrites);
    const growing = previousRefused !== null && refused > previousRefused;
    previousRefused = refused;
    dom.setText('refused-writes', figures.count(refused));
    dom.setText('refused-writes-hint', growing ? '\u00b7 refusing now (full, or a read-only replica): new entries stay in this instance\u2019s memory'
      : refused > 0 ? '\u00b7 entries kept in this instance\u2019s memory' : '');
    setTone(dom.byTestId('refused-writes'), growing ? 'bad' : refused > 0 ? 'warn' : 'muted');
  }

  /**
   * Hits by where the entry came from, each with its share of them all.
   * @param {TierReport} t
   */
  function renderServedFrom(t) {
    const from = t.servedFrom || {};
    const total = figures.num(from.near) + figures.num(from.redis) + figures.num(from.memory);
    dom.setText('served-memory-label', t.state === 'memory-only' ? 'Memory' : 'Memory fallback');
    for (const tier of /** @type {const} */ (['near', 'redis', 'memory'])) {
      const n = from[tier];
      dom.setText(`served-${tier}`, typeof n === 'number' ? figures.count(n) : '\u2014');
      dom.setText(`served-${tier}-share`, total > 0 ? figures.rate(figures.num(n) / total) : '');
    }
  }

  /**
   * Redis figures when the stats include them, else the error count.
   * @param {StatsJson} data
   * @param {Counters} t
   */
  function renderSideCard(data, t) {
    const redis = data.redis;
    if (redis) {
      dom.setText('side-title', 'Redis memory');
      dom.setText('side-value', redis.usedMemoryBytes ? figures.bytes(redis.usedMemoryBytes) : String(redis.usedMemory));
      const k = figures.num(redis.keyspaceHits) + figures.num(redis.keyspaceMisses);
      const clients = figures.num(redis.connectedClients);
      dom.setText('side-detail', `${figures.count(clients)}${clients === 1 ? ' client' : ' clients'} \u00b7 keyspace hit rate ` +
        `${figures.rate(k > 0 ? figures.num(redis.keyspaceHits) / k : null)} \u00b7 ${figures.count(figures.num(t.errors))} cache errors`);
    } else {
      dom.setText('side-title', 'Errors');
      dom.setText('side-value', figures.count(figures.num(t.errors)));
      dom.setText('side-detail', figures.num(t.errors) > 0 ? 'cache store failures; the requests were still served' : 'no cache store failures');
    }
  }

  // ---- start -------------------------------------------------------------------------------------

  let resizePending = false;
  window.addEventListener('resize', () => {
    if (resizePending) return;
    resizePending = true;
    requestAnimationFrame(() => { resizePending = false; historyCharts.render(Date.now()); });
  });
  setInterval(tickAge, 1000);
  dom.setText('interval', figures.ms(interval));
  historyCharts.render(Date.now());
  poll();
}

startDashboard();
