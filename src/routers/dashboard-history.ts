/**
 * Browser-side history charts of the stats dashboard (plain ES2017): hit rate per name from counter
 * deltas between polls, tier state over time, and latency percentiles per tier, drawn with the helpers
 * in dashboard-charts.ts from the samples the main script keeps.
 *
 * The code is a string so the page can inline it; it must not use backticks or `${`.
 */
export const DASHBOARD_HISTORY = String.raw`
function renderCharts(now) {
  var t0 = now - WINDOW_MS;
  var times = samples.map(function (s) { return s.t; });
  var maxGap = Math.max(interval * 3, 5000);
  renderHitRateChart(now, t0, times, maxGap);
  renderTierChart(now, t0, maxGap);
  LATENCY_TIERS.forEach(function (tier) { renderLatencyChart(tier, now, t0, times, maxGap); });
}

// The busiest names over the window, listed by name so legend order stays put as traffic shifts.
function chartedNames() {
  var traffic = new Map();
  samples.forEach(function (s) {
    Object.keys(s.names).forEach(function (name) {
      var d = s.names[name];
      if (d) traffic.set(name, (traffic.get(name) || 0) + d.g + d.m);
    });
  });
  return Array.from(traffic.keys())
    .filter(function (name) { return traffic.get(name) > 0; })
    .sort(function (a, b) { return traffic.get(b) - traffic.get(a); })
    .slice(0, CHARTED_NAMES)
    .sort();
}

// describe(t) for the hover read-out of charts whose series share the samples' times.
function describeAt(times, series, maxGap, format) {
  return function (t) {
    if (!times.length) return null;
    var i = nearestIndex(times, t);
    if (Math.abs(times[i] - t) > maxGap) return null;
    return {
      t: times[i],
      rows: series.map(function (s) { return { cls: s.cls, label: s.label, value: format(s.values[i]) }; })
    };
  };
}

// Hit rate at each sample over the deltas of the preceding few seconds: one poll alone holds too few
// lookups for a quiet name, and its rate would jump between 0 and 100 %.
function smoothedRates(pick) {
  var span = Math.max(SMOOTH_MS, interval * 3);
  var out = [];
  var g = 0;
  var m = 0;
  var j = 0;
  samples.forEach(function (s, i) {
    var d = pick(s);
    if (d) { g += d.g; m += d.m; }
    for (; samples[j].t <= s.t - span; j++) {
      var old = pick(samples[j]);
      if (old) { g -= old.g; m -= old.m; }
    }
    out.push(s.ok && g + m > 0 ? g / (g + m) : null);
  });
  return out;
}

function renderHitRateChart(now, t0, times, maxGap) {
  var fig = q('chart-hitrate');
  var series = [{ cls: 'total', label: 'All names', values: smoothedRates(function (s) { return s.total; }) }];
  chartedNames().forEach(function (name) {
    series.push({ cls: colourOf(name), label: name, values: smoothedRates(function (s) { return s.names[name]; }) });
  });
  lineChart(fig, {
    t0: t0, t1: now, height: 220, yMax: 1, yTicks: [0, 0.25, 0.5, 0.75, 1], maxGap: maxGap, times: times, series: series,
    yFormat: function (v) { return Math.round(v * 100) + ' %'; },
    empty: samples.length ? 'No cacheable lookups in the last 10 minutes' : 'Waiting for data\u2026',
    describe: describeAt(times, series, maxGap, fmtRate)
  });
  var legend = series.map(function (s, i) {
    var pick = i === 0 ? function (x) { return x.total; } : function (x) { return x.names[s.label]; };
    return { cls: s.cls, label: s.label, value: fmtRate(recentRate(pick)) };
  });
  fillLegend(fig, legend);
  fig.querySelector('svg').setAttribute('aria-label', 'Hit rate per name over the last 10 minutes. Last minute: ' +
    legend.map(function (l) { return l.label + ' ' + l.value; }).join(', '));
}

// Consecutive samples in the same state merged into runs; a sample stands until the next one.
function tierRuns(now, maxGap) {
  var runs = [];
  samples.forEach(function (s, i) {
    var next = samples[i + 1];
    var to = next ? next.t : now;
    if (to - s.t > maxGap) to = s.t + interval;
    var last = runs[runs.length - 1];
    if (last && last.state === s.tier && last.to >= s.t) last.to = to;
    else runs.push({ from: s.t, to: to, state: s.tier });
  });
  return runs;
}

function renderTierChart(now, t0, maxGap) {
  var fig = q('chart-tier');
  var runs = tierRuns(now, maxGap);
  bandChart(fig, {
    t0: t0, t1: now, height: 58, runs: runs,
    describe: function (t) {
      for (var i = runs.length - 1; i >= 0; i--) {
        var r = runs[i];
        if (t >= r.from && t <= r.to) {
          var info = TIER_INFO[r.state] || { label: r.state };
          return { t: t, rows: [{ cls: 'band-' + r.state, label: info.label, value: fmtClock(r.from) + ' \u2013 ' + fmtClock(r.to) }] };
        }
      }
      return null;
    }
  });
  var spent = {};
  runs.forEach(function (r) { spent[r.state] = (spent[r.state] || 0) + Math.max(0, r.to - Math.max(r.from, t0)); });
  var legend = Object.keys(TIER_INFO).filter(function (state) { return spent[state] > 0; }).map(function (state) {
    return { cls: 'band-' + state, label: TIER_INFO[state].label, value: fmtDuration(spent[state] / 1000), plain: true };
  });
  fillLegend(fig, legend);
  fig.querySelector('svg').setAttribute('aria-label', 'Tier state over the last 10 minutes: ' +
    (legend.length ? legend.map(function (l) { return l.label + ' for ' + l.value; }).join(', ') : 'no data yet'));
}

function renderLatencyChart(tier, now, t0, times, maxGap) {
  var fig = q('chart-latency-' + tier);
  function pick(key) {
    return samples.map(function (s) { return s.latency[tier] ? s.latency[tier][key] : null; });
  }
  var series = [
    { cls: 's0', label: 'p50', values: pick('p50') },
    { cls: 's1', label: 'p99', values: pick('p99'), dashed: true }
  ];
  var top = Math.max.apply(null, [0].concat(series[1].values.filter(function (v) { return v !== null; })));
  var yMax = niceCeil(top * 1.05);
  var lastState = samples.length ? samples[samples.length - 1].tier : '';
  lineChart(fig, {
    t0: t0, t1: now, height: 150, yMax: yMax, yTicks: [0, yMax / 2, yMax], yFormat: fmtMs, maxGap: maxGap,
    times: times, series: series, describe: describeAt(times, series, maxGap, fmtMs),
    empty: tier === 'redis' && lastState === 'memory-only' ? 'No Redis configured'
      : tier === 'handler' ? 'No misses timed yet' : 'No lookups timed yet'
  });
  var latest = null;
  for (var i = samples.length - 1; i >= 0 && !latest; i--) latest = samples[i].latency[tier] || null;
  fillLegend(fig, [
    { cls: 's0', label: 'p50', value: latest ? fmtMs(latest.p50) : '\u2014', plain: true },
    { cls: 's1', label: 'p99', value: latest ? fmtMs(latest.p99) : '\u2014', plain: true },
    { cls: '', label: 'timed', value: latest ? fmtCount(latest.count) : '0', plain: true }
  ]);
  fig.querySelector('svg').setAttribute('aria-label', tier + ' latency over the last 10 minutes' +
    (latest ? ': p50 ' + fmtMs(latest.p50) + ', p99 ' + fmtMs(latest.p99) : ': no data'));
}
`;
