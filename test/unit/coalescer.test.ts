import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { Coalescer } from '../../src/coalescing/coalescer.js';

/** A promise settled from outside, to hold work open while callers pile up. */
function gate<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('Coalescer', () => {
  it('runs the work once for concurrent callers of one key', async () => {
    const coalescer = new Coalescer<string>();
    const g = gate<string>();
    let runs = 0;
    const work = () => {
      runs++;
      return g.promise;
    };
    const callers = Array.from({ length: 20 }, () => coalescer.run('k', work));
    assert.equal(coalescer.size, 1);
    assert.ok(coalescer.pending('k'));
    g.resolve('value');
    assert.deepEqual(await Promise.all(callers), Array(20).fill('value'));
    assert.equal(runs, 1);
  });

  it('runs different keys separately', async () => {
    const coalescer = new Coalescer<string>();
    const [a, b] = await Promise.all([coalescer.run('a', async () => 'A'), coalescer.run('b', async () => 'B')]);
    assert.equal(a, 'A');
    assert.equal(b, 'B');
  });

  it('gives the error to every waiter', async () => {
    const coalescer = new Coalescer<string>();
    const g = gate<string>();
    const callers = Array.from({ length: 5 }, () => coalescer.run('k', () => g.promise));
    const failure = new Error('backend down');
    g.reject(failure);
    const results = await Promise.allSettled(callers);
    for (const result of results) {
      assert.equal(result.status, 'rejected');
      assert.equal((result as PromiseRejectedResult).reason, failure);
    }
  });

  it('frees the key once the work settles, so the next caller runs again', async () => {
    const coalescer = new Coalescer<number>();
    let runs = 0;
    assert.equal(await coalescer.run('k', async () => ++runs), 1);
    assert.equal(coalescer.size, 0);
    assert.equal(coalescer.pending('k'), undefined);
    assert.equal(await coalescer.run('k', async () => ++runs), 2);
    await assert.rejects(coalescer.run('k', async () => {
      throw new Error('x');
    }));
    assert.equal(coalescer.size, 0);
    assert.equal(await coalescer.run('k', async () => ++runs), 3);
  });

  it('lead() settles every waiter and frees the key', async () => {
    const coalescer = new Coalescer<string>();
    const leader = coalescer.lead('k');
    const waiter = coalescer.pending('k');
    assert.ok(waiter);
    leader.resolve('done');
    assert.equal(await waiter, 'done');
    assert.equal(coalescer.pending('k'), undefined);
  });

  it('an unawaited failed lead does not crash the process', async () => {
    const coalescer = new Coalescer<string>();
    coalescer.lead('k').reject(new Error('nobody listens'));
    // An unhandled rejection would fail this test file.
    await tick();
    await tick();
    assert.equal(coalescer.size, 0);
  });
});

describe('Coalescer linger', () => {
  const linger = { ms: 1000, maxKeys: 3 };

  /** Leads `key`, holds `value` and releases it, as a fill does once its store lands. */
  function holdAndRelease(coalescer: Coalescer<string>, key: string, value: string): void {
    const leader = coalescer.lead(key);
    leader.hold(value);
    leader.release();
  }

  it('hands a released held result to a caller that looked up before the release, never to a later one', async () => {
    const coalescer = new Coalescer<string>(linger);
    const before = coalescer.mark();
    holdAndRelease(coalescer, 'k', 'value');
    const after = coalescer.mark();
    assert.equal(await coalescer.pending('k', before), 'value');
    assert.equal(coalescer.pending('k', after), undefined);
    assert.equal(coalescer.pending('k'), undefined, 'a caller without a mark');
    assert.equal(coalescer.pending('other', before), undefined);
  });

  it('does not keep results that were not held (errors, responses that may not be stored)', async () => {
    const coalescer = new Coalescer<string>(linger);
    const before = coalescer.mark();
    coalescer.lead('resolved').resolve('not stored');
    coalescer.lead('rejected').reject(new Error('failed'));
    assert.equal(coalescer.pending('resolved', before), undefined);
    assert.equal(coalescer.pending('rejected', before), undefined);
  });

  it('keeps nothing without linger options', () => {
    const coalescer = new Coalescer<string>();
    const before = coalescer.mark();
    holdAndRelease(coalescer, 'k', 'value');
    assert.equal(coalescer.pending('k', before), undefined);
  });

  it('forgets a result once its linger has passed', (t) => {
    t.mock.timers.enable({ apis: ['Date', 'setTimeout'] });
    const coalescer = new Coalescer<string>(linger);
    const before = coalescer.mark();
    holdAndRelease(coalescer, 'k', 'value');
    t.mock.timers.tick(1000);
    assert.ok(coalescer.pending('k', before));
    t.mock.timers.tick(1);
    assert.equal(coalescer.pending('k', before), undefined);
  });

  it('keeps at most maxKeys results, dropping the oldest', () => {
    const coalescer = new Coalescer<string>(linger);
    const before = coalescer.mark();
    for (const key of ['a', 'b', 'c', 'd']) holdAndRelease(coalescer, key, key);
    assert.equal(coalescer.pending('a', before), undefined);
    for (const key of ['b', 'c', 'd']) assert.ok(coalescer.pending(key, before), key);
  });

  it('forgetReleased() drops every lingering result (an invalidation happened)', () => {
    const coalescer = new Coalescer<string>(linger);
    const before = coalescer.mark();
    holdAndRelease(coalescer, 'k', 'value');
    coalescer.forgetReleased();
    assert.equal(coalescer.pending('k', before), undefined);
  });
});
