import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { CircuitBreaker } from '../../src/stores/circuit-breaker.js';
import { FakeClock } from '../helpers/fake-clock.js';

const OPEN_FOR_MS = 20;

/** A probe the test answers by hand, counting calls and how many run at once. */
function manualProbe(clock: FakeClock) {
  const waiting: Array<{ resolve: () => void; reject: (error: unknown) => void }> = [];
  const probe = {
    calls: 0,
    running: 0,
    maxRunning: 0,
    fn: () => {
      probe.calls++;
      probe.running++;
      probe.maxRunning = Math.max(probe.maxRunning, probe.running);
      return new Promise<void>((resolve, reject) => {
        waiting.push({
          resolve: () => { probe.running--; resolve(); },
          reject: (error) => { probe.running--; reject(error); },
        });
      });
    },
    /** Moves the clock on until a probe is running (an open period at most), then settles it. */
    async answer(ok: boolean): Promise<void> {
      await until(clock, () => waiting.length > 0, 'a probe to start');
      const next = waiting.shift();
      if (ok) next?.resolve();
      else next?.reject(new Error('still down'));
      await clock.advance(0);
    },
  };
  return probe;
}

/** Moves the fake clock on, 1 ms at a time, until `condition` holds; fails after `limitMs` of fake time. */
async function until(clock: FakeClock, condition: () => boolean, what: string, limitMs = 10 * OPEN_FOR_MS): Promise<void> {
  for (let waited = 0; !condition(); waited++) {
    if (waited > limitMs) throw new Error(`${what} did not happen within ${limitMs} ms of fake time`);
    await clock.advance(1);
  }
}

function breakerWith(clock: FakeClock, probe: () => Promise<void>, failureThreshold = 3): CircuitBreaker {
  return new CircuitBreaker({ failureThreshold, openForMs: OPEN_FOR_MS, probe, clock });
}

describe('CircuitBreaker', () => {
  it('starts closed and lets calls through', () => {
    const breaker = breakerWith(new FakeClock(), async () => undefined);
    assert.equal(breaker.state, 'closed');
    assert.equal(breaker.allows(), true);
    breaker.stop();
  });

  it('opens after the threshold of consecutive failures, with the last error', () => {
    const breaker = breakerWith(new FakeClock(), async () => undefined);
    const opened: unknown[] = [];
    breaker.on('open', (error) => opened.push(error));
    breaker.failure(new Error('1'));
    breaker.failure(new Error('2'));
    assert.equal(breaker.allows(), true);
    const last = new Error('3');
    breaker.failure(last);
    assert.equal(breaker.state, 'open');
    assert.equal(breaker.allows(), false);
    assert.deepEqual(opened, [last]);
    breaker.stop();
  });

  it('a success resets the count of consecutive failures', () => {
    const breaker = breakerWith(new FakeClock(), async () => undefined);
    breaker.failure(new Error());
    breaker.failure(new Error());
    breaker.success();
    breaker.failure(new Error());
    breaker.failure(new Error());
    assert.equal(breaker.state, 'closed');
    breaker.stop();
  });

  it('stays shut to calls while a single probe runs, and closes when it answers', async () => {
    const clock = new FakeClock();
    const probe = manualProbe(clock);
    const breaker = breakerWith(clock, probe.fn);
    const closed = once(breaker, 'close');
    breaker.open(new Error('gone'));
    assert.equal(breaker.allows(), false);
    await until(clock, () => probe.calls === 1, 'the probe');
    assert.equal(breaker.state, 'half-open');
    assert.equal(breaker.allows(), false, 'requests never wait on a probe');
    // Failures and nudges meanwhile must not start a second probe.
    breaker.failure(new Error('late failure'));
    breaker.probeSoon();
    await clock.advance(OPEN_FOR_MS * 3);
    assert.equal(probe.calls, 1);
    assert.equal(probe.maxRunning, 1);
    await probe.answer(true);
    await closed;
    assert.equal(breaker.state, 'closed');
    assert.equal(breaker.allows(), true);
    breaker.stop();
  });

  it('reopens when the probe fails, then probes again, one at a time', async () => {
    const clock = new FakeClock();
    const probe = manualProbe(clock);
    const breaker = breakerWith(clock, probe.fn);
    let opens = 0;
    let closes = 0;
    breaker.on('open', () => opens++);
    breaker.on('close', () => closes++);
    breaker.open(new Error('gone'));
    await probe.answer(false);
    assert.equal(breaker.state, 'open');
    assert.equal(breaker.allows(), false);
    await probe.answer(false);
    await probe.answer(true);
    await until(clock, () => breaker.state === 'closed', 'the circuit to close');
    assert.equal(probe.calls, 3);
    assert.equal(probe.maxRunning, 1);
    assert.equal(opens, 1, 'one outage is announced once');
    assert.equal(closes, 1);
    breaker.stop();
  });

  it('a failure while a probe runs keeps the circuit open: the probe\'s late answer does not close it', async () => {
    const clock = new FakeClock();
    const probe = manualProbe(clock);
    const breaker = breakerWith(clock, probe.fn, 1);
    const events: string[] = [];
    breaker.on('open', () => events.push('open'));
    breaker.on('close', () => events.push('close'));
    breaker.open(new Error('down'));
    await until(clock, () => probe.running === 1, 'the first probe');
    assert.equal(breaker.state, 'half-open');
    breaker.open(new Error('the connection closed again'));
    assert.equal(breaker.state, 'open');
    await probe.answer(true);
    assert.equal(breaker.state, 'open', 'an answer from before the new failure must not close the circuit');
    await probe.answer(true);
    await until(clock, () => breaker.state === 'closed', 'the next probe to close it');
    assert.deepEqual(events, ['open', 'close'], 'one outage, announced once, recovered once');
    assert.equal(probe.maxRunning, 1);
    breaker.stop();
  });

  it('waits openFor before the first probe', async () => {
    const clock = new FakeClock();
    const probe = manualProbe(clock);
    const breaker = new CircuitBreaker({ failureThreshold: 1, openForMs: 150, probe: probe.fn, clock });
    breaker.open(new Error('gone'));
    await clock.advance(149);
    assert.equal(probe.calls, 0);
    await clock.advance(1);
    assert.equal(probe.calls, 1);
    await probe.answer(true);
    breaker.stop();
  });

  it('probeSoon() skips the rest of the open period', async () => {
    const clock = new FakeClock();
    const probe = manualProbe(clock);
    const breaker = new CircuitBreaker({ failureThreshold: 1, openForMs: 60_000, probe: probe.fn, clock });
    breaker.open(new Error('gone'));
    breaker.probeSoon();
    await probe.answer(true);
    await until(clock, () => breaker.state === 'closed', 'the circuit to close');
    breaker.stop();
  });

  it('startOpen() sends nothing until a probe succeeds, and announces only a failed first probe', async () => {
    const clock = new FakeClock();
    const probe = manualProbe(clock);
    const breaker = breakerWith(clock, probe.fn);
    const events: string[] = [];
    breaker.on('open', () => events.push('open'));
    breaker.on('close', () => events.push('close'));
    breaker.startOpen();
    assert.equal(breaker.allows(), false);
    assert.deepEqual(events, []);
    await probe.answer(false);
    assert.deepEqual(events, ['open']);
    await probe.answer(true);
    await until(clock, () => breaker.state === 'closed', 'the circuit to close');
    assert.deepEqual(events, ['open', 'close']);
    breaker.stop();
  });

  it('startOpen() followed by a good first probe closes quietly', async () => {
    const clock = new FakeClock();
    const probe = manualProbe(clock);
    const breaker = breakerWith(clock, probe.fn);
    const events: string[] = [];
    breaker.on('open', () => events.push('open'));
    breaker.on('close', () => events.push('close'));
    breaker.startOpen();
    await probe.answer(true);
    await until(clock, () => breaker.state === 'closed', 'the circuit to close');
    assert.deepEqual(events, []);
    breaker.stop();
  });

  it('stop() ends probing', async () => {
    const clock = new FakeClock();
    const probe = manualProbe(clock);
    const breaker = breakerWith(clock, probe.fn);
    breaker.open(new Error('gone'));
    breaker.stop();
    await clock.advance(OPEN_FOR_MS * 4);
    assert.equal(probe.calls, 0);
    breaker.open(new Error('again'));
    await clock.advance(OPEN_FOR_MS * 4);
    assert.equal(probe.calls, 0);
    assert.equal(clock.pendingTimers, 0, 'no timer left behind');
  });
});
