/**
 * Backends given by name, kept current (src/proxy/builtin/dns-backends.ts): a name becomes one
 * instance per address; a change of the address set (tasks come and go) is handed on, the same set
 * in another order is not; a failed lookup keeps what was last seen; addresses pass through. The
 * resolver is injected here; the last test uses the machine's own resolver on `localhost`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dns from 'node:dns/promises';
import { BackendResolver } from '../../src/proxy/builtin/dns-backends.ts';
import type { Backends } from '../../src/proxy/types.ts';

function fakeDns(answers: Record<string, string[] | Error>) {
  const calls: string[] = [];
  const resolve = async (host: string) => {
    calls.push(host);
    const a = answers[host];
    if (a === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    if (a instanceof Error) throw a;
    return a;
  };
  return { calls, resolve };
}

const named: Backends = {
  api: [{ host: 'tasks.shop_api_blue', port: 5000 }],
  web: [{ host: '10.0.1.9', port: 80 }],
};

test('a name becomes one instance per address; addresses pass through', async () => {
  const answers: Record<string, string[] | Error> = { 'tasks.shop_api_blue': ['10.0.1.3', '10.0.1.2'] };
  const { resolve } = fakeDns(answers);
  const seen: Backends[] = [];
  const r = new BackendResolver(resolve, (b) => seen.push(b));
  const out = await r.set(named);
  assert.deepEqual(out, {
    api: [
      { host: '10.0.1.2', port: 5000 },
      { host: '10.0.1.3', port: 5000 },
    ],
    web: [{ host: '10.0.1.9', port: 80 }],
  });
  assert.equal(seen.length, 1);
});

test('tasks come and go: a changed set is handed on, the same set in another order is not', async () => {
  const answers: Record<string, string[] | Error> = { 'tasks.shop_api_blue': ['10.0.1.2', '10.0.1.3'] };
  const { resolve } = fakeDns(answers);
  const seen: Backends[] = [];
  const r = new BackendResolver(resolve, (b) => seen.push(b));
  await r.set(named);
  answers['tasks.shop_api_blue'] = ['10.0.1.3', '10.0.1.2'];
  await r.refresh();
  assert.equal(seen.length, 1, 'same tasks, other order: no change');
  answers['tasks.shop_api_blue'] = ['10.0.1.3', '10.0.1.4'];
  await r.refresh();
  assert.equal(seen.length, 2);
  assert.deepEqual(
    seen[1]!.api!.map((e) => e.host),
    ['10.0.1.3', '10.0.1.4'],
  );
});

test('a failed lookup keeps the addresses last seen; a name never resolved is left out', async () => {
  const answers: Record<string, string[] | Error> = { 'tasks.shop_api_blue': ['10.0.1.2'] };
  const { resolve } = fakeDns(answers);
  const seen: Backends[] = [];
  const r = new BackendResolver(resolve, (b) => seen.push(b));
  await r.set(named);
  answers['tasks.shop_api_blue'] = new Error('EAI_AGAIN');
  assert.deepEqual((await r.refresh()).api, [{ host: '10.0.1.2', port: 5000 }]);
  answers['tasks.shop_api_blue'] = [];
  assert.deepEqual((await r.refresh()).api, [{ host: '10.0.1.2', port: 5000 }], 'an empty answer is no answer');
  assert.equal(seen.length, 1);
  const fresh = new BackendResolver(fakeDns({}).resolve, () => undefined);
  assert.deepEqual(await fresh.set({ api: [{ host: 'tasks.none', port: 1 }] }), {});
});

test('start() resolves every interval until stop()', async () => {
  const { calls, resolve } = fakeDns({ 'tasks.shop_api_blue': ['10.0.1.2'] });
  const r = new BackendResolver(resolve, () => undefined, 20);
  await r.set(named);
  r.start();
  // Bounded: two more lookups by the timer (a loaded machine may run it late, never not at all).
  for (let waited = 0; calls.length < 3 && waited < 5_000; waited += 10)
    await new Promise((res) => setTimeout(res, 10));
  await r.stop();
  const n = calls.length;
  assert.ok(n >= 3, `looked up ${n} times`);
  await new Promise((res) => setTimeout(res, 100));
  assert.equal(calls.length, n, 'no lookup after stop()');
});

test("the machine's own resolver: localhost expands to its loopback address(es)", async () => {
  const r = new BackendResolver(
    async (host) => (await dns.lookup(host, { all: true })).map((a) => a.address),
    () => undefined,
  );
  const out = await r.set({ api: [{ host: 'localhost', port: 5000 }] });
  assert.ok(out.api && out.api.length >= 1, JSON.stringify(out));
  assert.ok(
    out.api.every((e) => e.host === '127.0.0.1' || e.host === '::1'),
    JSON.stringify(out),
  );
});
