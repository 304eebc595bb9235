import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { loadSnapshot, saveSnapshot } from '../../src/proxy/builtin/snapshot.js';
import { proxyAlive, proxyClient } from '../../src/proxy/client.js';
import { NO_FEATURES, type ProxyFeatures } from '../../src/proxy/features.js';
import { ensureProxy, stopProxy } from '../../src/proxy/launch.js';
import { projectPaths, type ProjectPaths } from '../../src/state/paths.js';
import { freePort, squat, startBackend, type TestBackend } from '../helpers/backends.js';
import { hit } from '../helpers/builtin-traffic.js';
import { daemonInProcess, local, snapshot, tempProject } from '../helpers/proxy.js';
import { diffStats } from '../../src/proxy/stats.js';
import { budget } from '../helpers/budget.js';

const routes = [{ path: '/', service: 'app' }];

const daemon = daemonInProcess;

/** A raw control call, to see the daemon's answer to malformed bodies. */
function raw(
  socketPath: string,
  method: string,
  path: string,
  body?: string,
): Promise<{ status: number; json: { error?: { code: string; message: string } } }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        socketPath,
        method,
        path,
        agent: false,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('built-in proxy: control API and daemon persistence', () => {
  let blue: TestBackend;
  let green: TestBackend;
  let root: string;
  let cleanup: () => Promise<void>;
  let paths: ProjectPaths;
  let port: number;

  before(async () => {
    blue = await startBackend('blue');
    green = await startBackend('green');
    ({ root, cleanup } = await tempProject());
    paths = projectPaths(root);
    port = await freePort();
  }, budget(100));
  after(async () => {
    await stopProxy(paths).catch(() => {});
    await blue.close();
    await green.close();
    await cleanup();
  }, budget(100));

  it(
    'carries weight, maintenance, watch, stats and features over the socket, and persists them',
    budget(200),
    async () => {
      await saveSnapshot(
        paths.proxyState,
        snapshot(routes, { blue: { app: [local(blue.port)] }, green: { app: [local(green.port)] } }, 'blue', port),
      );
      const d = await daemon(root);
      try {
        const c = proxyClient(paths.proxySocket);
        let st = await c.status();
        assert.equal(st.canary, null);
        assert.equal(st.maintenance, null);
        assert.equal(st.watching, false);
        assert.deepEqual(st.features, NO_FEATURES);

        const previewPort = await freePort();
        const features: ProxyFeatures = {
          ...NO_FEATURES,
          preview: { host: '127.0.0.1', port: previewPort },
          maintenanceAllow: ['127.0.0.1'],
          retryAfterS: 30,
        };
        await c.configure(routes, { features });
        await c.setWeight('green', 20);
        await c.setMaintenance({ on: true, message: 'upgrade' });
        await c.setWatch(true);
        st = await c.status();
        assert.deepEqual(st.canary, { colour: 'green', percent: 20 });
        assert.equal(st.maintenance?.message, 'upgrade');
        assert.equal(st.watching, true);
        assert.deepEqual(st.features, features);
        const saved = await loadSnapshot(paths.proxyState);
        assert.deepEqual(saved?.canary, st.canary);
        assert.deepEqual(saved?.maintenance, st.maintenance);
        assert.equal(saved?.watching, true);
        assert.deepEqual(saved?.features, features);

        assert.equal((await hit(port, '/m', { from: '127.0.0.2' })).status, 503);
        assert.equal((await hit(previewPort, '/p')).colour, 'green');
        const before = await c.stats();
        await hit(port, '/counted', { from: '127.0.0.1' });
        const s = diffStats(await c.stats(), before);
        assert.equal(s.enabled, true);
        assert.equal(s.colours.blue.requests + s.colours.green.requests, 1);

        await assert.rejects(c.setWeight('blue', 10), { code: 'PROXY_FAILED', message: /active colour/ });
        await assert.rejects(c.setMaintenance({ on: true, message: 'a\u0000b' }), {
          code: 'PROXY_FAILED',
          message: /control characters/,
        });
        const taken = await squat();
        try {
          await assert.rejects(
            c.configure(routes, { features: { ...features, preview: { host: '127.0.0.1', port: taken.port } } }),
            {
              code: 'PORT_IN_USE',
              message: new RegExp(`127\\.0\\.0\\.1:${taken.port}`),
            },
          );
        } finally {
          await taken.close();
        }
        assert.deepEqual((await c.status()).features, features);
      } finally {
        await d.stop();
      }

      // Restarted: the same split, maintenance, watch and features.
      const again = await daemon(root);
      try {
        const st = await proxyClient(paths.proxySocket).status();
        assert.deepEqual(st.canary, { colour: 'green', percent: 20 });
        assert.equal(st.maintenance?.message, 'upgrade');
        assert.equal(st.watching, true);
        assert.equal(st.features.retryAfterS, 30);
        assert.equal((await hit(port, '/m', { from: '127.0.0.2' })).headers['retry-after'], '30');
        assert.equal((await hit(st.features.preview!.port, '/p')).colour, 'green');
      } finally {
        await again.stop();
      }
    },
  );

  it('answers bad control bodies with 400 and a clear message', budget(100), async () => {
    const d = await daemon(root);
    try {
      const cases: Array<[string, string | undefined, RegExp]> = [
        ['/weight', '{"colour":"green","percent":"10"}', /percent "10"/],
        ['/weight', '{"colour":"green","percent":100}', /0\.\.99/],
        ['/weight', '{"colour":"red","percent":10}', /colour "red"/],
        ['/weight', '{"percent":10}', /colour/],
        ['/maintenance', '{"on":"yes"}', /maintenance: on/],
        ['/maintenance', '{}', /maintenance: on/],
        ['/maintenance', '{"on":true,"message":42}', /maintenance message/],
        ['/maintenance', `{"on":true,"message":"${'x'.repeat(2001)}"}`, /maintenance message/],
        ['/watch', '{"on":1}', /watch: on/],
        ['/configure', `{"routes":${JSON.stringify(routes)},"features":{"sticky":"ip"}}`, /features/],
        [
          '/configure',
          `{"routes":${JSON.stringify(routes)},"features":${JSON.stringify({ ...NO_FEATURES, stickyCookie: 'a;b' })}}`,
          /stickyCookie/,
        ],
        ['/switch', 'not json', /not JSON/],
        ['/switch', '[1]', /JSON object/],
      ];
      for (const [path, body, message] of cases) {
        const r = await raw(paths.proxySocket, 'POST', path, body);
        assert.equal(r.status, 400, `${path} ${body}: HTTP ${r.status} ${JSON.stringify(r.json)}`);
        assert.match(r.json.error?.message ?? '', message, `${path} ${body}`);
      }
      const s = await raw(paths.proxySocket, 'GET', '/stats');
      assert.equal(s.status, 200);
      const st = await proxyClient(paths.proxySocket).status();
      assert.deepEqual(st.canary, { colour: 'green', percent: 20 }, 'nothing changed');
    } finally {
      await d.stop();
    }
  });

  it(
    'ensureProxy passes features to a new daemon, reconfigures a live one, and a restart keeps the split',
    budget(5_300),
    async () => {
      const listen = { host: '127.0.0.1', port: await freePort() };
      const want = { listen, routes, features: NO_FEATURES };
      await saveSnapshot(
        paths.proxyState,
        snapshot(
          routes,
          { blue: { app: [local(blue.port)] }, green: { app: [local(green.port)] } },
          'blue',
          listen.port,
        ),
      );
      const first = await ensureProxy(paths, want);
      assert.equal(first.started, true);
      assert.notEqual(first.status.pid, process.pid, 'the real detached daemon');
      assert.deepEqual(first.status.features, NO_FEATURES);

      const previewPort = await freePort();
      const withPreview = {
        ...NO_FEATURES,
        preview: { host: '127.0.0.1', port: previewPort },
        sticky: 'address' as const,
      };
      const second = await ensureProxy(paths, { ...want, features: withPreview });
      assert.equal(second.started, false);
      assert.equal(second.status.pid, first.status.pid);
      assert.deepEqual(second.status.features, withPreview);
      assert.equal((await hit(previewPort, '/p')).colour, 'green');

      const taken = await squat();
      try {
        await assert.rejects(
          ensureProxy(paths, {
            ...want,
            features: { ...withPreview, preview: { host: '127.0.0.1', port: taken.port } },
          }),
          { code: 'PORT_IN_USE' },
        );
      } finally {
        await taken.close();
      }
      assert.deepEqual(
        (await proxyAlive(paths.proxySocket))?.features,
        withPreview,
        'the refused change left the daemon as it was',
      );

      await second.control.setWeight('green', 40);
      await second.control.setMaintenance({ on: true });
      await second.control.setWatch(true);
      assert.equal(await stopProxy(paths), true);

      const third = await ensureProxy(paths, { ...want, features: withPreview });
      assert.equal(third.started, true);
      assert.deepEqual(third.status.canary, { colour: 'green', percent: 40 });
      assert.notEqual(third.status.maintenance, null);
      assert.equal(third.status.watching, true);
      assert.deepEqual(third.status.features, withPreview);
      assert.equal((await hit(listen.port, '/x')).status, 503, 'still in maintenance');
      await third.control.setMaintenance({ on: false });
      assert.equal((await hit(listen.port, '/x')).status, 200);
      assert.equal(await stopProxy(paths), true);

      // A daemon that cannot bind its preview port does not start, and says which port.
      const squatter = await squat();
      try {
        await assert.rejects(
          ensureProxy(paths, {
            ...want,
            features: { ...withPreview, preview: { host: '127.0.0.1', port: squatter.port } },
          }),
          (e: Error & { code?: string; hint?: string }) => {
            assert.equal(e.code, 'PORT_IN_USE');
            assert.match(e.message, new RegExp(`preview listener cannot listen on 127\\.0\\.0\\.1:${squatter.port}`));
            assert.match(e.hint ?? '', /proxy\.listen\.preview/);
            return true;
          },
        );
      } finally {
        await squatter.close();
      }
      assert.equal(await proxyAlive(paths.proxySocket), undefined);
    },
  );
});
