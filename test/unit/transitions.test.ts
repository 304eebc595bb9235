/** The proxies' one set of state changes (src/proxy/transitions.ts), without any proxy running. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NO_FEATURES } from '../../src/proxy/features.ts';
import { checkPercent, type Routing, transition } from '../../src/proxy/transitions.ts';

const app = { host: '127.0.0.1', port: 4001 };
const base: Routing = {
  routes: [
    { path: '/api', service: 'api' },
    { path: '/', service: 'web' },
  ],
  backends: { blue: { api: [app], web: [app] } },
  active: 'blue',
  canary: null,
  maintenance: null,
  watching: false,
  features: NO_FEATURES,
};

test('a switch needs a backend for every routed service, and ends a split', () => {
  const half = transition(
    { ...base, backends: { ...base.backends, green: { api: [app] } } },
    { kind: 'switch', colour: 'green' },
  );
  assert.deepEqual(half, {
    ok: false,
    refusal: {
      message: 'cannot switch to green: no backend for "web"',
      hint: 'start green first (deploy and rollback do) so its backends are known to the proxy',
    },
  });
  const split: Routing = {
    ...base,
    backends: { ...base.backends, green: { api: [app], web: [app] } },
    canary: { colour: 'green', percent: 10 },
  };
  const r = transition(split, { kind: 'switch', colour: 'green' });
  assert.ok(r.ok);
  assert.deepEqual([r.next.active, r.next.canary], ['green', null]);
});

test('a split goes to the inactive colour only, once a colour is active; 0 ends it whatever the state', () => {
  assert.equal(transition({ ...base, active: null }, { kind: 'weight', colour: 'green', percent: 10 }).ok, false);
  const toActive = transition(base, { kind: 'weight', colour: 'blue', percent: 10 });
  assert.ok(
    !toActive.ok && /it is the active colour/.test(toActive.refusal.message) && /\(green\)/.test(toActive.refusal.hint),
  );
  assert.deepEqual(transition({ ...base, active: null }, { kind: 'weight', colour: 'green', percent: 0 }), {
    ok: true,
    next: { ...base, active: null, canary: null },
  });
  assert.throws(() => checkPercent(100), { code: 'PROXY_FAILED', message: /0\.\.99/ });
});

test('a drain is refused while the colour gets traffic (active, or a canary share), and changes nothing', () => {
  assert.deepEqual(transition(base, { kind: 'drain', colour: 'blue' }), {
    ok: false,
    refusal: { message: 'cannot drain blue: it is the active colour', hint: 'switch to the other colour first' },
  });
  const split: Routing = { ...base, canary: { colour: 'green', percent: 20 } };
  const r = transition(split, { kind: 'drain', colour: 'green' });
  assert.ok(!r.ok && r.refusal.message === 'cannot drain green: a canary split still sends it 20% of clients');
  const ok = transition(base, { kind: 'drain', colour: 'green' });
  assert.ok(ok.ok && ok.next === base);
});

test('maintenance on keeps its first time when the message changes; the default message when none is given', () => {
  const on = transition(base, { kind: 'maintenance-on', now: '2026-01-01T00:00:00.000Z' });
  assert.ok(on.ok);
  assert.match(on.next.maintenance!.message, /down for maintenance/);
  const again = transition(on.next, { kind: 'maintenance-on', message: 'new text', now: '2026-01-01T01:00:00.000Z' });
  assert.ok(again.ok);
  assert.deepEqual(again.next.maintenance, { message: 'new text', since: '2026-01-01T00:00:00.000Z' });
});

test('what a command does not touch keeps its identity (the built-in proxy saves only what changed)', () => {
  const r = transition(base, { kind: 'watch', on: true });
  assert.ok(r.ok);
  for (const k of ['routes', 'backends', 'features'] as const) assert.equal(r.next[k], base[k], k);
});
