/**
 * proxy.metrics with nginx (src/proxy/nginx/stub-status.ts, docs/traffic.md#metrics): the real nginx,
 * started through the project's driver, serves its stub_status page on the metrics address and
 * nothing else there. Requests sent through the proxy show up in the page's request count (read by
 * parseStubStatus, never by regex here); the page is not on the public port; adding or removing the
 * listener is a checked reload that keeps the counts; a taken port fails the start with PORT_IN_USE
 * naming the setting; an nginx without the module gets a hint on what to do.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseStubStatus, STUB_STATUS_PATH, type StubStatus } from '../../src/proxy/nginx/stub-status.js';
import { canConnect } from '../../src/util/can-connect.js';
import { freePort, get, squat, startBackend, type TestBackend } from '../helpers/backends.js';
import { budget } from '../helpers/budget.js';
import { nginxProject, startWith, type NginxProject } from '../helpers/nginx.js';

const routes = [{ path: '/', service: 'app' }];

/** GET /stub_status on the metrics port, parsed. */
async function scrape(port: number): Promise<StubStatus> {
  const r = await get(port, STUB_STATUS_PATH);
  assert.equal(r.status, 200, r.body);
  assert.match(String(r.headers['content-type']), /^text\/plain/);
  return parseStubStatus(r.body);
}

describe('nginx stub_status on proxy.metrics.listen', () => {
  let backend: TestBackend;
  let p: NginxProject;
  let metricsPort: number;

  before(async () => {
    backend = await startBackend('app-blue');
    metricsPort = await freePort();
    p = await nginxProject(routes, { metrics: { listen: { port: metricsPort } } });
    await startWith(p, 'app', backend.port, undefined);
  }, budget(300));
  after(async () => {
    await p.cleanup();
    await backend.close();
  }, budget(100));

  it(
    'counts the requests sent through the proxy: at least as many, exactly those plus the scrape',
    budget(300),
    async () => {
      const before = await scrape(metricsPort);
      assert.ok(before.active >= 1 && before.writing >= 1, 'the scrape itself is an open connection, writing');
      const n = 25;
      for (let i = 0; i < n; i++) {
        const r = await get(p.port, `/x?i=${i}`);
        assert.equal(r.status, 200);
        assert.equal(r.headers['x-switchyard-env'], 'blue');
      }
      const after = await scrape(metricsPort);
      const grew = after.requests - before.requests;
      assert.ok(grew >= n, `requests grew by ${grew}, fewer than the ${n} sent`);
      // Nothing else talks to this nginx: the n requests and the second scrape itself.
      assert.equal(grew, n + 1);
      // One connection per request (no keep-alive agent), each accepted and handled.
      assert.ok(after.accepts - before.accepts >= n + 1);
      assert.equal(after.accepts - after.handled, before.accepts - before.handled, 'no connection dropped');
    },
  );

  it('serves nothing else on that port, and the page is not on the public port', budget(100), async () => {
    for (const other of ['/', '/metrics', `${STUB_STATUS_PATH}/`, `${STUB_STATUS_PATH}x`, '/x/../stub']) {
      const r = await get(metricsPort, other);
      assert.equal(r.status, 404, `${other}: ${r.status}`);
    }
    assert.equal((await get(metricsPort, STUB_STATUS_PATH, { method: 'POST', body: 'x' })).status, 405);
    const hits = [...backend.hits.values()].reduce((a, b) => a + b, 0);
    await scrape(metricsPort);
    assert.equal(
      [...backend.hits.values()].reduce((a, b) => a + b, 0),
      hits,
      'a scrape never reaches a backend',
    );
    // On the public port /stub_status is an ordinary path of the app's "/" route.
    const pub = await get(p.port, STUB_STATUS_PATH);
    assert.equal(pub.status, 200);
    assert.equal((JSON.parse(pub.body) as { colour: string }).colour, 'app-blue');
  });

  it('removed and added again by the next ensure (a checked reload), which keeps the counts', budget(700), async () => {
    const before = await scrape(metricsPort);
    const without = await p.driverWith({ metrics: undefined }).ensure();
    assert.equal(without.started, false, 'the running nginx reloaded, not restarted');
    assert.equal(await canConnect('127.0.0.1', metricsPort), false, 'the listener is gone');
    assert.doesNotMatch(await fs.readFile(p.files.conf, 'utf8'), /stub_status/);
    assert.equal((await get(p.port, '/')).status, 200, 'the public port serves on');
    await p.driverWith({}).ensure();
    const again = await scrape(metricsPort);
    // Counters live in nginx's shared memory: a reload keeps them (a restart of nginx starts from 0).
    assert.ok(again.requests > before.requests, `${again.requests} after the reloads, ${before.requests} before`);
  });
});

describe('nginx stub_status: what fails, and how it says so', () => {
  it(
    'a metrics port in use fails the start with PORT_IN_USE naming host:port and proxy.metrics.listen',
    budget(2_700),
    async () => {
      const taken = await squat();
      const p = await nginxProject(routes, { metrics: { listen: { port: taken.port } } });
      try {
        await assert.rejects(p.driver.ensure(), (e: { code: string; message: string; hint: string }) => {
          assert.equal(e.code, 'PORT_IN_USE');
          assert.equal(e.message, `nginx cannot listen on 127.0.0.1:${taken.port}: the port is already in use`);
          assert.match(e.hint, /proxy\.metrics\.listen/);
          return true;
        });
        assert.equal(await p.driver.alive(), undefined, 'no nginx left running');
        assert.equal(await canConnect('127.0.0.1', p.port), false, 'nor anything on the public port');
      } finally {
        await taken.close();
        await p.cleanup();
      }
    },
  );

  it("an nginx built without the stub_status module: nginx -t's refusal and what to do", budget(300), async () => {
    const p = await nginxProject(routes, { metrics: { listen: { port: await freePort() } } });
    try {
      // A stand-in for such a build: its version, and the refusal nginx -t gives for the directive.
      const fake = path.join(p.root, 'nginx-without-stub-status');
      await fs.writeFile(
        fake,
        [
          '#!/bin/sh',
          'case " $* " in',
          '  *" -v "*) echo "nginx version: nginx/1.22.1" >&2; exit 0 ;;',
          `  *" -t "*) echo 'nginx: [emerg] unknown directive "stub_status" in /fake/nginx.conf:90' >&2; exit 1 ;;`,
          'esac',
          'exit 1',
          '',
        ].join('\n'),
        { mode: 0o755 },
      );
      await assert.rejects(
        p.driverWith({ binary: fake }).ensure(),
        (e: { code: string; message: string; hint: string }) => {
          assert.equal(e.code, 'PROXY_FAILED');
          assert.match(e.message, /nginx rejected the configuration: .*unknown directive "stub_status"/);
          assert.match(e.hint, /ngx_http_stub_status_module.*remove proxy\.metrics/);
          return true;
        },
      );
    } finally {
      await p.cleanup();
    }
  });
});
