import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NO_FEATURES } from '../../src/proxy/features.js';
import { checkCanary, checkFeatures, checkMaintenanceState } from '../../src/proxy/features-check.js';
import { checkPercent } from '../../src/proxy/transitions.js';
import { Allowlist } from '../../src/proxy/builtin/maintenance.js';
import { checkMaintenanceMessage } from '../../src/proxy/maintenance-page.js';
import { checkSnapshot } from '../../src/proxy/builtin/snapshot.js';
import { TrafficWatch } from '../../src/proxy/builtin/watch.js';

describe('maintenance allowlist', () => {
  it('matches IPs and CIDR blocks, IPv4-mapped IPv6 as IPv4', () => {
    const a = new Allowlist(['127.0.0.1', '10.0.0.0/8', 'fd00::/8']);
    assert.equal(a.allows('127.0.0.1'), true);
    assert.equal(a.allows('::ffff:127.0.0.1'), true);
    assert.equal(a.allows('::FFFF:10.20.30.40'), true);
    assert.equal(a.allows('127.0.0.2'), false);
    assert.equal(a.allows('::ffff:127.0.0.2'), false);
    assert.equal(a.allows('fd12::1'), true);
    assert.equal(a.allows('::1'), false);
    assert.equal(a.allows(undefined), false);
    assert.equal(a.allows('not an address'), false);
    assert.equal(new Allowlist([]).allows('127.0.0.1'), false);
  });
});

describe('control input checks', () => {
  it('accepts percent 0..99 integers only', () => {
    for (const ok of [0, 1, 50, 99]) assert.equal(checkPercent(ok), ok);
    for (const bad of [100, -1, 1.5, '10', null, undefined, Number.NaN])
      assert.throws(() => checkPercent(bad), { code: 'PROXY_FAILED', message: /percent/ });
  });

  it('checks maintenance messages: length and control characters', () => {
    assert.equal(checkMaintenanceMessage('Back at 5 <b>pm</b> & later'), 'Back at 5 <b>pm</b> & later');
    assert.equal(checkMaintenanceMessage('x'.repeat(2000)).length, 2000);
    for (const bad of [
      '',
      'x'.repeat(2001),
      'line\nbreak',
      'tab\there',
      'esc\u001b[31m',
      'del\u007f',
      'c1\u0085',
      5,
      null,
    ]) {
      assert.throws(() => checkMaintenanceMessage(bad), { code: 'PROXY_FAILED', message: /maintenance message/ });
      // The CLI applies the same rule before any proxy, as a usage error (exit 2).
      assert.throws(() => checkMaintenanceMessage(bad, 'USAGE'), { code: 'USAGE', message: /maintenance message/ });
    }
  });

  it('checks features strictly', () => {
    assert.deepEqual(checkFeatures(NO_FEATURES), NO_FEATURES);
    const full = {
      preview: { host: '127.0.0.1', port: 8081 },
      previewMatch: { header: 'X-Preview', cookie: 'sy_preview', token: 's3cret' },
      sticky: 'address',
      stickyCookie: 'sy_canary',
      maintenanceAllow: ['127.0.0.1', '10.0.0.0/8'],
      retryAfterS: 120,
    };
    assert.deepEqual(checkFeatures(full), full);
    const bad: Array<[string, unknown]> = [
      ['preview', { host: '', port: 1 }],
      ['preview', { host: 'x', port: 70000 }],
      ['previewMatch', { token: 'x' }],
      ['previewMatch', { header: 'Bad Header', token: 'x' }],
      ['previewMatch', { header: 'X-P', token: 'a;b' }],
      ['previewMatch', { cookie: 'c', token: 'with space' }],
      ['sticky', 'ip'],
      ['stickyCookie', 'a=b'],
      ['stickyCookie', 'x\r\nSet-Cookie: evil'],
      ['maintenanceAllow', ['300.1.1.1']],
      ['maintenanceAllow', '127.0.0.1'],
      ['retryAfterS', 0],
      ['retryAfterS', 1.5],
    ];
    for (const [key, value] of bad)
      assert.throws(
        () => checkFeatures({ ...full, [key]: value }),
        { code: 'PROXY_FAILED', message: /features/ },
        `${key}=${JSON.stringify(value)}`,
      );
    assert.throws(() => checkFeatures(null), { code: 'PROXY_FAILED' });
  });

  it('reads canary and maintenance back from a snapshot', () => {
    assert.deepEqual(checkCanary({ colour: 'green', percent: 10 }), { colour: 'green', percent: 10 });
    assert.equal(checkCanary({ colour: 'green', percent: 0 }), null);
    assert.equal(checkCanary(null), null);
    assert.throws(() => checkCanary({ colour: 'red', percent: 10 }));
    assert.deepEqual(checkMaintenanceState({ message: 'm', since: '2024-01-01T00:00:00.000Z' }), {
      message: 'm',
      since: '2024-01-01T00:00:00.000Z',
    });
    assert.throws(() => checkMaintenanceState({ message: 'm', since: 'yesterday' }));
    const base = {
      listen: { host: '127.0.0.1', port: 0 },
      routes: [{ path: '/', service: 'app' }],
      backends: {},
      active: null,
    };
    assert.deepEqual(checkSnapshot(base), base, 'an old snapshot without the new fields still loads');
    const full = {
      ...base,
      canary: { colour: 'blue', percent: 5 },
      maintenance: null,
      watching: true,
      features: NO_FEATURES,
    };
    assert.deepEqual(checkSnapshot(full), full);
    assert.throws(() => checkSnapshot({ ...base, watching: 'yes' }), { code: 'PROXY_FAILED' });
  });
});

describe('TrafficWatch', () => {
  it('counts always and never resets; on/off only says whether a deploy watches', () => {
    const w = new TrafficWatch();
    w.record('blue', 200, 1, false);
    assert.equal(w.snapshot().colours.blue.requests, 1);
    assert.equal(w.snapshot().enabled, false);
    w.set(true);
    w.record('blue', 200, 1, false);
    w.record('blue', 503, 1, false);
    w.record('green', 502, 1, true);
    w.record('green', 0, 1, false);
    w.set(true);
    let s = w.snapshot();
    assert.equal(s.enabled, true);
    assert.deepEqual([s.colours.blue.requests, s.colours.blue.errors, s.colours.blue.failures], [3, 1, 0]);
    assert.deepEqual([s.colours.green.requests, s.colours.green.errors, s.colours.green.failures], [2, 1, 1]);
    w.set(false);
    w.record('blue', 200, 1, false);
    s = w.snapshot();
    assert.equal(s.enabled, false);
    assert.equal(s.colours.blue.requests, 4, 'counted while off too');
    w.set(true);
    assert.equal(w.snapshot().colours.blue.requests, 4, 'on again keeps the counts');
    // A snapshot is a copy: it does not move with later requests.
    const copy = w.snapshot();
    w.record('blue', 200, 1, false);
    assert.equal(copy.colours.blue.requests, 4);
  });
});
