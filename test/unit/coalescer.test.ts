import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { Coalescer } from '../../src/coalescer.js';

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
