/**
 * The swarm edge proxy (src/proxy/builtin/edge.ts) run in-process on loopback, with real backends
 * and a resolver the test controls (a map of names to 127.0.0.1): a fresh replica answers 503 with
 * no colour; the TCP control API refuses calls without the right token; backends given by name are
 * resolved and served; a name that did not resolve at first is followed once it does; the saved
 * state keeps the names, and a restarted replica serves the same colour at once. Two real replicas
 * behind FanoutControl: a switch one refuses after the other applied it puts the other back, which
 * keeps serving the old colour.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runEdgeProxy, edgeStateFile } from '../../src/proxy/builtin/edge.js';
import type { EdgeSettings } from '../../src/proxy/edge-settings.js';
import { proxyClient } from '../../src/proxy/client.js';
import { checkSnapshot } from '../../src/proxy/builtin/snapshot.js';
import { FanoutControl } from '../../src/proxy/fanout.js';
import { freePort, get, startBackend, waitFor, type TestBackend } from '../helpers/backends.js';
import { budget } from '../helpers/budget.js';

const TOKEN = 'edge-test-token-0123456789abcdef';

/** A replica's settings: a fresh state folder (removed after the tests) and a public port. */
async function settingsFor(port: number, cleanups: Array<() => Promise<void>>): Promise<EdgeSettings> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sy-edge-'));
  cleanups.push(() => fs.rm(dir, { recursive: true, force: true }));
  return {
    kind: 'builtin',
    stateDir: dir,
    epoch: 'e1',
    init: checkSnapshot({
      listen: { host: '127.0.0.1', port },
      routes: [{ path: '/', service: 'api' }],
      backends: {},
      active: null,
    }),
    token: TOKEN,
    controlPort: 0,
    controlNet: '127.0.0.0/8',
  };
}

interface Running {
  publicPort: number;
  controlPort: number;
  stop(): Promise<void>;
}

async function startEdge(settings: EdgeSettings, names: Map<string, string[]>): Promise<Running> {
  const ac = new AbortController();
  let ready!: (a: { public: { port: number }; control: { port: number } }) => void;
  const up = new Promise<{ public: { port: number }; control: { port: number } }>((r) => (ready = r));
  const done = runEdgeProxy(settings, {
    controlHost: '127.0.0.1',
    signal: ac.signal,
    onReady: ready,
    resolve: async (host) => {
      const a = names.get(host);
      if (!a) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
      return a;
    },
  });
  const a = await Promise.race([up, done.then(() => Promise.reject(new Error('the edge proxy stopped')))]);
  return {
    publicPort: a.public.port,
    controlPort: a.control.port,
    stop: async () => {
      ac.abort();
      await done;
    },
  };
}

describe('swarm edge proxy (in-process, loopback)', () => {
  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  it(
    'serves named backends, guards its control API with the token, and keeps names across a restart',
    budget(5_000),
    async () => {
      const blue: TestBackend = await startBackend('blue');
      cleanups.push(() => blue.close());
      const port = await freePort();
      const settings = await settingsFor(port, cleanups);
      const dir = settings.stateDir;
      const names = new Map<string, string[]>();
      let edge = await startEdge(settings, names);
      cleanups.push(() => edge.stop());

      assert.equal((await get(port, '/')).status, 503, 'a fresh replica has no colour: 503');

      const control = proxyClient({ host: '127.0.0.1', port: edge.controlPort, token: TOKEN });
      const wrong = proxyClient({ host: '127.0.0.1', port: edge.controlPort, token: 'x'.repeat(32) });
      await assert.rejects(wrong.status(), /wrong or no token/);
      const raw = await fetch(`http://127.0.0.1:${edge.controlPort}/status`);
      assert.equal(raw.status, 401);
      await raw.body?.cancel();

      // The name does not resolve yet (no task running): nothing to route to, then followed.
      await control.setBackends('blue', { api: [{ host: 'tasks.t_api_blue', port: blue.port }] });
      assert.deepEqual((await control.status()).backends.blue ?? {}, {});
      names.set('tasks.t_api_blue', ['127.0.0.1']);
      assert.ok(
        await waitFor(async () => ((await control.status()).backends.blue?.api?.length ?? 0) === 1, 5_000),
        'the name was resolved again and its address handed to the server',
      );
      await control.switchTo('blue');
      const r = await get(port, '/');
      assert.equal(r.status, 200);
      assert.equal(JSON.parse(r.body).colour, 'blue');

      const saved = JSON.parse(await fs.readFile(path.join(dir, edgeStateFile('e1')), 'utf8'));
      assert.equal(saved.active, 'blue');
      assert.deepEqual(saved.backends.blue, { api: [{ host: 'tasks.t_api_blue', port: blue.port }] });

      await edge.stop();
      edge = await startEdge({ ...settings, controlPort: 0 }, names);
      const again = await get(port, '/');
      assert.equal(again.status, 200, 'the restarted replica serves the saved colour at once');
      assert.equal(JSON.parse(again.body).colour, 'blue');
    },
  );

  it(
    'two real replicas: a switch one of them refuses is put back on the other, which keeps serving the old colour',
    budget(5_000),
    async () => {
      const blue = await startBackend('blue');
      const green = await startBackend('green');
      cleanups.push(
        () => blue.close(),
        () => green.close(),
      );
      const names = new Map([
        ['tasks.t_api_blue', ['127.0.0.1']],
        ['tasks.t_api_green', ['127.0.0.1']],
      ]);
      const replica = async (name: string) => {
        const port = await freePort();
        const edge = await startEdge(await settingsFor(port, cleanups), names);
        cleanups.push(() => edge.stop());
        return { name, port, control: proxyClient({ host: '127.0.0.1', port: edge.controlPort, token: TOKEN }) };
      };
      const a = await replica('n1');
      const b = await replica('n2');
      const fan = new FanoutControl([a, b]);
      await fan.setBackends('blue', { api: [{ host: 'tasks.t_api_blue', port: blue.port }] });
      await fan.switchTo('blue');
      // Only n1 knows green: n2 refuses a switch to it after n1 applied it.
      await a.control.setBackends('green', { api: [{ host: 'tasks.t_api_green', port: green.port }] });
      await assert.rejects(fan.switchTo('green'), (e: Error) => {
        assert.match(e.message, /could not switch to green on the edge proxy on n2: .*; n1 put back as before/);
        return true;
      });
      for (const r of [a, b]) {
        assert.equal((await r.control.status()).active, 'blue', r.name);
        const res = await get(r.port, '/');
        assert.equal(JSON.parse(res.body).colour, 'blue', `${r.name} serves blue`);
      }
    },
  );
});
