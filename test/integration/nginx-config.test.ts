/** The nginx driver against a real nginx: config checks, routing, reloads only on real changes, failures. */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isNginxMaster, workersOf } from '../../src/proxy/nginx/procfs.js';
import { testConfig } from '../../src/proxy/nginx/process.js';
import { freePort, get, startBackend, type TestBackend } from '../helpers/backends.js';
import { nginxProject, type NginxProject } from '../helpers/nginx.js';
import { budget } from '../helpers/budget.js';

const routes = [
  { path: '/api', service: 'api' },
  { path: '/', service: 'web' },
];
const local = (port: number) => ({ host: '127.0.0.1', port });
const who = async (port: number, p: string) => {
  const r = await get(port, p);
  return {
    status: r.status,
    env: r.headers['x-switchyard-env'],
    backend: r.status === 200 ? (JSON.parse(r.body) as { colour: string }).colour : undefined,
  };
};

describe('nginx driver', () => {
  let api: TestBackend;
  let web: TestBackend;
  let p: NginxProject;

  before(async () => {
    api = await startBackend('api-blue');
    web = await startBackend('web-blue');
    p = await nginxProject(routes);
  }, budget(100));
  after(async () => {
    await p.cleanup();
    await api.close();
    await web.close();
  }, budget(100));

  it('starts and passes nginx -t while the inactive colour has nothing running', budget(800), async () => {
    const { control, started, status } = await p.driver.ensure();
    assert.equal(started, true);
    assert.equal(status.active, null, 'nothing activated yet');
    await control.setBackends('blue', { api: [local(api.port)], web: [local(web.port)] });
    await testConfig('nginx', p.files); // green upstreams point at nothing, and nginx accepts it
    await control.switchTo('blue');
    assert.deepEqual(await who(p.port, '/'), { status: 200, env: 'blue', backend: 'web-blue' });
    await assert.rejects(control.switchTo('green'), { code: 'PROXY_FAILED', message: /no backend for "api", "web"/ });
    assert.equal((await p.driver.alive())?.active, 'blue');
  });

  it('routes like routing.ts: /api and /api/x to api, /apix and / to web', budget(100), async () => {
    assert.equal((await who(p.port, '/api')).backend, 'api-blue');
    assert.equal((await who(p.port, '/api/x?y=1')).backend, 'api-blue');
    assert.equal((await who(p.port, '/api?x')).backend, 'api-blue');
    assert.equal((await who(p.port, '/apix')).backend, 'web-blue');
    assert.equal((await who(p.port, '/')).backend, 'web-blue');
    const r = await get(p.port, '/api/h', { headers: { 'x-forwarded-for': '10.0.0.1' } });
    const headers = JSON.parse(r.body).headers;
    assert.equal(headers['x-forwarded-for'], '10.0.0.1, 127.0.0.1');
    assert.equal(headers['x-forwarded-proto'], 'http');
    assert.equal(r.headers.server, 'nginx', 'server_tokens off: no version');
  });

  it('reloads only when the rendered config changed, and waits for the new workers', budget(500), async () => {
    const { control } = await p.driver.ensure();
    const pid = (await p.driver.alive())!.pid;
    const w0 = (await workersOf(pid)).map((w) => w.pid);
    await control.setBackends('blue', { api: [local(api.port)], web: [local(web.port)] });
    assert.deepEqual(
      (await workersOf(pid)).map((w) => w.pid),
      w0,
      'same backends: no reload',
    );
    const green = await startBackend('web-green');
    try {
      await control.setBackends('green', { api: [local(green.port)], web: [local(green.port)] });
      const w1 = (await workersOf(pid)).filter((w) => !w.shuttingDown).map((w) => w.pid);
      assert.ok(
        w1.every((x) => !w0.includes(x)),
        'a new backend: new workers',
      );
      await control.switchTo('green');
      assert.deepEqual(await who(p.port, '/'), { status: 200, env: 'green', backend: 'web-green' });
      assert.equal((await p.driver.alive())?.active, 'green');
      assert.deepEqual(
        (await workersOf(pid)).filter((w) => !w.shuttingDown).map((w) => w.pid),
        w1,
        'a switch never reloads',
      );
      await control.switchTo('blue');
      assert.equal((await who(p.port, '/')).env, 'blue');
    } finally {
      await green.close();
    }
  });

  it('drain waits for a request in flight to the old colour', budget(7_300), async () => {
    const green = await startBackend('web-green');
    try {
      const { control } = await p.driver.ensure();
      await control.setBackends('green', { api: [local(green.port)], web: [local(green.port)] });
      await control.switchTo('blue');
      const arrived = web.arrived('/slow');
      const slow = get(p.port, '/slow?ms=800');
      await arrived;
      await control.switchTo('green');
      assert.equal((await who(p.port, '/after')).backend, 'web-green');
      const d = await control.drain('blue', 8_000);
      assert.equal(d.timedOut, false);
      assert.ok(d.ms >= 500, `drain returned after ${d.ms} ms, before the request ended`);
      assert.equal((await slow).status, 200);
      // Long enough to still be in flight whatever the machine's load: the drain must time out.
      const reached = green.arrived('/slow');
      const short = get(p.port, '/slow?ms=2000');
      await reached; // in flight at green before the drain looks (not merely sent)
      await control.switchTo('blue');
      const t = await control.drain('green', 300);
      assert.equal(t.timedOut, true);
      assert.ok(t.inFlight >= 1);
      await short;
    } finally {
      await green.close();
    }
  });

  it(
    "a rejected config (bad TLS path) fails with nginx's message, is restored, and nginx keeps serving",
    budget(100),
    async () => {
      const before = await fs.readFile(p.files.conf, 'utf8');
      const https = await freePort();
      const bad = p.driverWith({
        listen: { http: p.port, https },
        tls: { cert: 'missing/cert.pem', key: 'missing/key.pem' },
      });
      await assert.rejects(bad.ensure(), (e: { code: string; exitCode: number; message: string }) => {
        assert.equal(e.code, 'PROXY_FAILED');
        assert.equal(e.exitCode, 1);
        assert.match(e.message, /nginx rejected the configuration: .*cert\.pem/);
        return true;
      });
      assert.equal(await fs.readFile(p.files.conf, 'utf8'), before);
      assert.equal((await who(p.port, '/')).status, 200);
    },
  );

  it(
    'a taken port is PORT_IN_USE naming host:port; a missing binary says how to install nginx',
    budget(2_600),
    async () => {
      const blocker = net.createServer();
      await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
      const taken = (blocker.address() as net.AddressInfo).port;
      const other = await nginxProject(routes);
      try {
        const d = other.driverWith({ listen: { http: taken } });
        await assert.rejects(
          d.ensure(),
          (e: { code: string; message: string }) =>
            e.code === 'PORT_IN_USE' && e.message.includes(`127.0.0.1:${taken}`),
        );
        const missing = other.driverWith({ binary: path.join(other.root, 'no-nginx') });
        await assert.rejects(
          missing.ensure(),
          (e: { code: string; hint: string }) =>
            e.code === 'PROXY_FAILED' && /apt-get install nginx.*proxy\.kind: builtin/.test(e.hint),
        );
        assert.equal(await missing.alive(), undefined);
      } finally {
        blocker.close();
        await other.cleanup();
      }
    },
  );

  it('stop() ends the master; alive() then says so', budget(100), async () => {
    const pid = (await p.driver.alive())!.pid;
    assert.equal(await p.driver.stop(), true);
    assert.equal(await p.driver.alive(), undefined);
    assert.equal(await isNginxMaster(pid), false, 'the master exited (a zombie until init reaps it is fine)');
    assert.equal(await p.driver.stop(), false);
  });
});
