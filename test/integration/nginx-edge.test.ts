/**
 * nginx as a swarm edge replica (src/proxy/nginx/edge.ts), run here on loopback with this
 * machine's nginx: the agent's failure path. The replica is driven through its token-guarded
 * control API; its nginx is then killed whole (master and workers, as when its container's main
 * process dies): the agent ends with an error, so that Swarm restarts the replica. A new agent on
 * the same state volume and epoch serves what the first one served (colour, backends, maintenance:
 * real 503s with the message through the public port); one of another epoch starts clean. A clean
 * stop leaves no nginx and no listener.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { configSchema, type NginxProxyConfig } from '../../src/config/schema.ts';
import { proxyClient } from '../../src/proxy/client.ts';
import { checkSnapshot } from '../../src/proxy/builtin/snapshot.ts';
import type { EdgeSettings, NginxEdge } from '../../src/proxy/edge-settings.ts';
import { nginxEdgeDir, runNginxEdge } from '../../src/proxy/nginx/edge.ts';
import { nginxFilesIn } from '../../src/proxy/nginx/files.ts';
import { masterPid } from '../../src/proxy/nginx/process.ts';
import { workersOf } from '../../src/proxy/nginx/procfs.ts';
import { canConnect } from '../../src/util/can-connect.ts';
import { freePort } from '../helpers/backends.ts';
import { budget } from '../helpers/budget.ts';

const TOKEN = 'edge-test-token-0123456789abcdef';
const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
});

function nginxProxy(port: number): NginxProxyConfig {
  const c = configSchema.parse({
    app: 'edge',
    proxy: { kind: 'nginx', listen: { http: port, host: '127.0.0.1' }, routes: [{ path: '/', service: 'api' }] },
    services: { api: { command: 'x', health: { path: '/' } } },
  });
  if (c.proxy.kind !== 'nginx') throw new Error('not nginx');
  return c.proxy;
}

async function settings(stateDir: string, port: number, epoch: string): Promise<EdgeSettings & { nginx: NginxEdge }> {
  const proxy = nginxProxy(port);
  return {
    kind: 'nginx',
    stateDir,
    epoch,
    init: checkSnapshot({ listen: { host: '127.0.0.1', port }, routes: proxy.routes, backends: {}, active: null }),
    token: TOKEN,
    controlPort: 0,
    controlNet: '127.0.0.0/8',
    nginx: {
      proxy,
      resolve: {
        resolver: '127.0.0.11',
        targets: { api: { blue: 'tasks.e_api_blue:5000', green: 'tasks.e_api_green:5000' } },
      },
    },
  };
}

/** An agent in this process: its run (settles when it ends), its control client, its stopper. */
async function startAgent(s: EdgeSettings & { nginx: NginxEdge }) {
  const stop = new AbortController();
  let ready!: (port: number) => void;
  const port = new Promise<number>((r) => (ready = r));
  const run = runNginxEdge(s, { signal: stop.signal, controlHost: '127.0.0.1', onReady: (a) => ready(a.control.port) });
  const settled = run.then(
    () => ({ ok: true as const }),
    (e: unknown) => ({ ok: false as const, error: e as Error }),
  );
  const controlPort = await Promise.race([
    port,
    settled.then((r) => Promise.reject(r.ok ? new Error('ended') : r.error)),
  ]);
  const control = proxyClient({ host: '127.0.0.1', port: controlPort, token: TOKEN, name: 'edge test' });
  return { settled, control, stop: () => stop.abort() };
}

const NAMED = { api: [{ host: 'tasks.e_api_blue', port: 5000 }] };

test(
  'nginx dies: the agent ends with an error; a new one on the same volume serves what it served',
  budget(5_000),
  async () => {
    const stateDir = await fs.mkdtemp(path.join(os.tmpdir(), 'sy-nginx-edge-'));
    dirs.push(stateDir);
    const port = await freePort();
    const s = await settings(stateDir, port, 'e1');
    const a = await startAgent(s);
    await a.control.setBackends('blue', NAMED);
    await a.control.switchTo('blue');
    await a.control.setMaintenance({ on: true, message: 'edge test maintenance' });
    const before = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(before.status, 503);
    assert.match(await before.text(), /edge test maintenance/);

    // Kill nginx whole, as a dead container would: master and workers.
    const files = nginxFilesIn(path.join(stateDir, nginxEdgeDir('e1')));
    const master = await masterPid(files);
    assert.ok(master, 'the agent runs an nginx master');
    const workers = (await workersOf(master)).map((w) => w.pid);
    for (const pid of [master, ...workers]) process.kill(pid, 'SIGKILL');
    const ended = await a.settled;
    assert.equal(ended.ok, false, 'the agent ends with an error, so Swarm restarts the replica');
    assert.match(ended.ok ? '' : ended.error.message, /edge proxy: nginx exited/);
    for (let i = 0; i < 40 && (await canConnect('127.0.0.1', port)); i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(await canConnect('127.0.0.1', port), false, 'nobody listens once nginx is gone');

    const b = await startAgent(s);
    const st = await b.control.status();
    assert.equal(st.active, 'blue');
    assert.deepEqual(st.backends.blue, NAMED);
    assert.equal(st.maintenance?.message, 'edge test maintenance');
    const again = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(again.status, 503);
    assert.match(await again.text(), /edge test maintenance/);

    b.stop();
    assert.deepEqual(await b.settled, { ok: true });
    assert.equal(await masterPid(files), undefined, 'a clean stop stops nginx');
    assert.equal(await canConnect('127.0.0.1', port), false);

    // Another epoch (an edge service made again after `down`): the old state is gone, nothing routed.
    const c = await startAgent(await settings(stateDir, port, 'e2'));
    const fresh = await c.control.status();
    assert.equal(fresh.active, null);
    assert.deepEqual(await fs.readdir(stateDir), [nginxEdgeDir('e2')]);
    c.stop();
    assert.deepEqual(await c.settled, { ok: true });
  },
);
