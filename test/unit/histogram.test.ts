import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Histogram, LATENCY_BUCKETS_MS, Latency } from '../../src/observe/histogram.js';

describe('Histogram', () => {
  it('summarises nothing as zeros', () => {
    assert.deepEqual(new Histogram().summary(), { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 });
  });

  it('counts, averages and tracks the maximum', () => {
    const h = new Histogram();
    for (const ms of [1, 2, 3, 4]) h.record(ms);
    const s = h.summary();
    assert.equal(s.count, 4);
    assert.equal(s.mean, 2.5);
    assert.equal(s.max, 4);
  });

  it('reports percentiles as bucket upper bounds, never above the largest value seen', () => {
    const h = new Histogram();
    for (let i = 0; i < 90; i++) h.record(0.04);
    for (let i = 0; i < 9; i++) h.record(3);
    h.record(40);
    const s = h.summary();
    assert.equal(s.p50, 0.05);
    assert.equal(s.p90, 0.05);
    assert.equal(s.p99, 5);
    assert.equal(s.max, 40);
    assert.equal(h.percentile(1), 40, 'the top bucket is capped by the maximum (50 ms bound, 40 ms seen)');
  });

  it('percentiles never decrease with q', () => {
    const h = new Histogram();
    for (let i = 0; i < 500; i++) h.record((i * 7919) % 3000 / 10);
    let previous = 0;
    for (let q = 0.01; q <= 1; q += 0.01) {
      const p = h.percentile(q);
      assert.ok(p >= previous, `p(${q.toFixed(2)}) = ${p} < ${previous}`);
      previous = p;
    }
  });

  it('puts values beyond the last bucket in an overflow bucket reported as the maximum', () => {
    const h = new Histogram();
    const last = LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 1] as number;
    h.record(last * 3);
    assert.equal(h.counts[LATENCY_BUCKETS_MS.length], 1);
    assert.equal(h.summary().p50, last * 3);
  });

  it('puts a value on a bucket bound into that bucket', () => {
    const h = new Histogram();
    h.record(1);
    assert.equal(h.counts[LATENCY_BUCKETS_MS.indexOf(1)], 1);
  });
});

describe('Latency', () => {
  it('reports the last minute in recent() and everything in lifetime', () => {
    const latency = new Latency();
    latency.record(1000);
    for (let i = 0; i < 6; i++) latency.rotate();
    latency.record(2);
    assert.equal(latency.recent().count, 1, 'a slot six rotations old has left the window');
    assert.equal(latency.recent().max, 2);
    assert.equal(latency.lifetime.count, 2);
    assert.equal(latency.lifetime.max, 1000);
  });

  it('keeps what was recorded in the last five rotations', () => {
    const latency = new Latency();
    for (let i = 0; i < 5; i++) {
      latency.record(10);
      latency.rotate();
    }
    assert.equal(latency.recent().count, 5);
  });
});
