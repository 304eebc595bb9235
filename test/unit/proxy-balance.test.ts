import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DOWN_MS, InstanceGroup } from '../../src/proxy/builtin/balance.js';

/** A clock the test moves by hand. */
function clock(start = 0): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

const picks = <T>(g: InstanceGroup<T>, n: number): T[] => Array.from({ length: n }, () => g.pick());

describe('InstanceGroup: which instance a request goes to', () => {
  it('goes round robin across 3 instances, instance 1 first', () => {
    const g = new InstanceGroup(['i1', 'i2', 'i3'], clock().now);
    assert.deepEqual(picks(g, 7), ['i1', 'i2', 'i3', 'i1', 'i2', 'i3', 'i1']);
  });

  it('skips an instance marked down until its mark expires, then uses it again', () => {
    const c = clock(5_000);
    const g = new InstanceGroup(['i1', 'i2', 'i3'], c.now);
    g.markDown('i2');
    assert.equal(g.isMarkedDown('i2'), true);
    assert.deepEqual(picks(g, 4), ['i1', 'i3', 'i1', 'i3']);
    c.advance(DOWN_MS - 1);
    assert.deepEqual(picks(g, 2), ['i1', 'i3'], 'still marked 1 ms before it expires');
    c.advance(1);
    assert.equal(g.isMarkedDown('i2'), false);
    assert.deepEqual(picks(g, 6).sort(), ['i1', 'i1', 'i2', 'i2', 'i3', 'i3']);
  });

  it('a new refusal restarts the mark; an answer clears it at once', () => {
    const c = clock();
    const g = new InstanceGroup(['i1', 'i2'], c.now);
    g.markDown('i1');
    c.advance(DOWN_MS / 2);
    g.markDown('i1');
    c.advance(DOWN_MS / 2 + 1);
    assert.deepEqual(picks(g, 3), ['i2', 'i2', 'i2'], 'the second mark counts from the second refusal');
    g.markUp('i1');
    assert.equal(g.isMarkedDown('i1'), false);
    assert.deepEqual(picks(g, 4).sort(), ['i1', 'i1', 'i2', 'i2']);
  });

  it('still picks, round robin, when every instance is marked down', () => {
    const g = new InstanceGroup(['i1', 'i2', 'i3'], clock().now);
    for (const i of g.items) g.markDown(i);
    assert.deepEqual(picks(g, 6), ['i1', 'i2', 'i3', 'i1', 'i2', 'i3']);
  });

  it('with one instance always picks it, and never marks it down', () => {
    let reads = 0;
    const g = new InstanceGroup(['only'], () => reads++);
    g.markDown('only');
    assert.equal(g.isMarkedDown('only'), false);
    assert.deepEqual(picks(g, 3), ['only', 'only', 'only']);
    assert.equal(g.another(['only']), undefined);
    assert.equal(reads, 0, 'the clock is not read with one instance');
  });

  it('does not read the clock while nothing is marked down (the hot path)', () => {
    let reads = 0;
    const g = new InstanceGroup(['i1', 'i2'], () => reads++);
    picks(g, 10);
    g.markUp('i1');
    assert.equal(reads, 0);
  });

  it('for a retry, offers each other instance once, skipping those marked down', () => {
    const c = clock();
    const g = new InstanceGroup(['i1', 'i2', 'i3', 'i4'], c.now);
    g.markDown('i3');
    const tried = ['i1'];
    for (let next = g.another(tried); next !== undefined; next = g.another(tried)) tried.push(next);
    assert.deepEqual(tried.sort(), ['i1', 'i2', 'i4']);
    c.advance(DOWN_MS);
    assert.equal(g.another(tried), 'i3', 'offered again once its mark expired');
  });
});
