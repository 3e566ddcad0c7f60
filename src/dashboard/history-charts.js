// @ts-check
/**
 * The dashboard's history charts over the samples' window: hit rate per name, tier state, and latency
 * percentiles per tier.
 *
 * Defines `createHistoryCharts`. Uses `dom` (dom.js), `figures` (figures.js), `charts` (charts.js) and the
 * samples it is given (samples.js).
 */

/** @typedef {{ label: string, tone: string, hint: string }} TierLook how the page shows a tier state */

/**
 * @param {{ samples: Samples, intervalMs: number, tiers: Readonly<Record<string, TierLook>> }} options
 *   `tiers`: the states the tier chart knows, in legend order
 */
function createHistoryCharts({ samples, intervalMs, tiers }) {
  const CHARTED_NAMES = 8;

  document.querySelectorAll('figure').forEach((fig) => { charts.enableHover(fig); });

  /** @param {number} now */
  function render(now) {
    const t0 = now - samples.windowMs;
    const times = samples.list.map((s) => s.t);
    const maxGap = Math.max(intervalMs * 3, 5000);
    renderHitRate(now, t0, times, maxGap);
    renderTier(now, t0, maxGap);
    samples.latencyTiers.forEach((tier) => { renderLatency(tier, now, t0, times, maxGap); });
  }

  /**
   * The hover read-out of charts whose series share the samples' times.
   * @param {number[]} times
   * @param {Series[]} series
   * @param {number} maxGap
   * @param {(v: number | null) => string} format
   * @returns {Describe}
   */
  function describeAt(times, series, maxGap, format) {
    return (t) => {
      if (!times.length) return null;
      const i = charts.nearestIndex(times, t);
      if (Math.abs(times[i] - t) > maxGap) return null;
      return { t: times[i], rows: series.map((s) => ({ cls: s.cls, label: s.label, value: format(s.values[i]) })) };
    };
  }

  /**
   * @param {number} now
   * @param {number} t0
   * @param {number[]} times
   * @param {number} maxGap
   */
  function renderHitRate(now, t0, times, maxGap) {
    const fig = dom.byTestId('chart-hitrate');
    /** @type {Series[]} */
    const series = [{ cls: 'total', label: 'All names', values: samples.smoothedRates((s) => s.total) }];
    samples.busiestNames(CHARTED_NAMES).forEach((name) => {
      series.push({ cls: charts.seriesClass(name), label: name, values: samples.smoothedRates((s) => s.names[name]) });
    });
    charts.lineChart(fig, {
      t0, t1: now, height: 220, yMax: 1, yTicks: [0, 0.25, 0.5, 0.75, 1], maxGap, times, series,
      yFormat: (v) => `${Math.round(v * 100)} %`,
      empty: samples.list.length ? 'No cacheable lookups in the last 10 minutes' : 'Waiting for data\u2026',
      describe: describeAt(times, series, maxGap, figures.rate),
    });
    const legend = series.map((s, i) => {
      /** @type {PickDelta} */
      const pick = i === 0 ? (x) => x.total : (x) => x.names[s.label];
      return { cls: s.cls, label: s.label, value: figures.rate(samples.recentRate(pick)) };
    });
    charts.fillLegend(fig, legend);
    dom.find(fig, 'svg', SVGSVGElement).setAttribute('aria-label', 'Hit rate per name over the last 10 minutes. Last minute: ' +
      legend.map((l) => `${l.label} ${l.value}`).join(', '));
  }

  /**
   * @param {number} now
   * @param {number} t0
   * @param {number} maxGap
   */
  function renderTier(now, t0, maxGap) {
    const fig = dom.byTestId('chart-tier');
    const runs = samples.tierRuns(now, maxGap);
    charts.bandChart(fig, {
      t0, t1: now, height: 58, runs,
      describe: (t) => {
        for (let i = runs.length - 1; i >= 0; i--) {
          const r = runs[i];
          if (t >= r.from && t <= r.to) {
            const label = tiers[r.state] ? tiers[r.state].label : r.state;
            return { t, rows: [{ cls: `band-${r.state}`, label, value: `${figures.clock(r.from)} \u2013 ${figures.clock(r.to)}` }] };
          }
        }
        return null;
      },
    });
    /** @type {Record<string, number>} */
    const spent = {};
    runs.forEach((r) => { spent[r.state] = (spent[r.state] || 0) + Math.max(0, r.to - Math.max(r.from, t0)); });
    const legend = Object.keys(tiers).filter((state) => spent[state] > 0).map((state) =>
      ({ cls: `band-${state}`, label: tiers[state].label, value: figures.duration(spent[state] / 1000), plain: true }));
    charts.fillLegend(fig, legend);
    dom.find(fig, 'svg', SVGSVGElement).setAttribute('aria-label', 'Tier state over the last 10 minutes: ' +
      (legend.length ? legend.map((l) => `${l.label} for ${l.value}`).join(', ') : 'no data yet'));
  }

  /**
   * @param {string} tier
   * @param {number} now
   * @param {number} t0
   * @param {number[]} times
   * @param {number} maxGap
   */
  function renderLatency(tier, now, t0, times, maxGap) {
    const fig = dom.byTestId(`chart-latency-${tier}`);
    /** @param {'p50' | 'p99'} key */
    const pick = (key) => samples.list.map((s) => {
      const l = s.latency[tier];
      return l ? l[key] : null;
    });
    /** @type {Series[]} */
    const series = [
      { cls: 's0', label: 'p50', values: pick('p50') },
      { cls: 's1', label: 'p99', values: pick('p99'), dashed: true },
    ];
    const top = Math.max(0, ...series[1].values.filter((v) => v !== null));
    const yMax = charts.niceCeil(top * 1.05);
    const last = samples.list[samples.list.length - 1];
    const lastState = last ? last.tier : '';
    charts.lineChart(fig, {
      t0, t1: now, height: 150, yMax, yTicks: [0, yMax / 2, yMax], yFormat: figures.ms, maxGap,
      times, series, describe: describeAt(times, series, maxGap, figures.ms),
      empty: tier === 'redis' && lastState === 'memory-only' ? 'No Redis configured'
        : tier === 'handler' ? 'No misses timed yet' : 'No lookups timed yet',
    });
    /** @type {LatencyPoint | null} */
    let latest = null;
    for (let i = samples.list.length - 1; i >= 0 && !latest; i--) latest = samples.list[i].latency[tier] || null;
    charts.fillLegend(fig, [
      { cls: 's0', label: 'p50', value: latest ? figures.ms(latest.p50) : '\u2014', plain: true },
      { cls: 's1', label: 'p99', value: latest ? figures.ms(latest.p99) : '\u2014', plain: true },
      { cls: '', label: 'timed', value: latest ? figures.count(latest.count) : '0', plain: true },
    ]);
    dom.find(fig, 'svg', SVGSVGElement).setAttribute('aria-label', `${tier} latency over the last 10 minutes` +
      (latest ? `: p50 ${figures.ms(latest.p50)}, p99 ${figures.ms(latest.p99)}` : ': no data'));
  }

  return Object.freeze({ render });
}
