import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ProxyServer } from '../../src/proxy/builtin/server.js';
import { loadSnapshot } from '../../src/proxy/builtin/snapshot.js';
import { NO_FEATURES, type ProxyFeatures } from '../../src/proxy/features.js';
import { freePort, squat, startBackend, type TestBackend } from '../helpers/backends.js';
import { hit, many, wsHello } from '../helpers/builtin-traffic.js';
import { local, persistedProxy, restartPersisted, snapshot } from '../helpers/proxy.js';
import { diffStats } from '../../src/proxy/stats.js';
import { budget } from '../helpers/budget.js';

const routes = [{ path: '/', service: 'app' }];

describe('built-in proxy: preview', () => {
  let blue: TestBackend;
  let green: TestBackend;
  let cleanup: () => Promise<void>;
  let file: string;
  let proxy: ProxyServer;
  let port: number;
  let previewPort: number;
  let features: ProxyFeatures;

  before(async () => {
    blue = await startBackend('blue');
    green = await startBackend('green');
    previewPort = await freePort();
    features = {
      ...NO_FEATURES,
      preview: { host: '127.0.0.1', port: previewPort },
      previewMatch: { header: 'X-Preview', cookie: 'sy_preview', token: 's3cret' },
    };
    ({ proxy, port, file, cleanup } = await persistedProxy({ blue: blue.port, green: green.port }, features));
  }, budget(100));
  after(async () => {
    await proxy.close(2_000);
    await blue.close();
    await green.close();
    await cleanup();
  }, budget(100));

  it('serves the active colour publicly and the inactive one on the preview port', budget(100), async () => {
    const pub = await hit(port, '/page');
    const pre = await hit(previewPort, '/page');
    assert.equal(pub.colour, 'blue');
    assert.equal(pre.status, 200);
    assert.equal(pre.colour, 'green');
    assert.equal(JSON.parse(pre.body).colour, 'green');
    assert.deepEqual((await proxy.status()).features, features);
    await proxy.switchTo('green');
    assert.equal((await hit(previewPort, '/page')).colour, 'blue', 'preview follows: now blue is inactive');
    assert.equal((await hit(port, '/page')).colour, 'green');
    await proxy.switchTo('blue');
  });

  it('relays WebSockets on the preview port to the inactive colour', budget(100), async () => {
    assert.match((await wsHello(previewPort, '/live')).hello ?? '', /^hello from green/);
    assert.match((await wsHello(port, '/live')).hello ?? '', /^hello from blue/);
    assert.match(
      (await wsHello(port, '/live', { headers: { 'x-preview': 's3cret' } })).hello ?? '',
      /^hello from green/,
    );
  });

  it(
    'sends a public request with the right header or cookie to the inactive colour, and only then',
    budget(100),
    async () => {
      assert.equal((await hit(port, '/h', { headers: { 'X-Preview': 's3cret' } })).colour, 'green');
      assert.equal(
        (await hit(port, '/h', { headers: { 'x-preview': 's3cret' } })).colour,
        'green',
        'header names are case-insensitive',
      );
      assert.equal((await hit(port, '/c', { headers: { cookie: 'a=1; sy_preview=s3cret; b=2' } })).colour, 'green');
      const wrong: Array<Record<string, string>> = [
        { 'x-preview': 'wrong' },
        { 'x-preview': 's3cret2' },
        { 'x-preview': '' },
        { cookie: 'sy_preview=S3CRET' },
        { cookie: 'sy_preview_x=s3cret' },
        { 'x-preview-x': 's3cret' },
        {},
      ];
      for (const headers of wrong) {
        assert.equal((await hit(port, '/no', { headers })).colour, 'blue', JSON.stringify(headers));
      }
    },
  );

  it('answers 503 when there is no colour to preview', budget(100), async () => {
    await proxy.setBackends('green', {});
    const r = await hit(previewPort, '/x');
    assert.equal(r.status, 503);
    assert.match(r.body, /no colour to preview/);
    assert.equal((await hit(port, '/x', { headers: { 'x-preview': 's3cret' } })).status, 503);
    assert.equal((await hit(port, '/x')).colour, 'blue');
    await proxy.setBackends('green', { app: [local(green.port)] });
    const idle = await ProxyServer.start({
      ...snapshot(routes, { blue: { app: [local(blue.port)] } }, null),
      features: { ...NO_FEATURES, preview: { host: '127.0.0.1', port: 0 } },
    });
    try {
      const none = await hit(idle.previewAddress!.port, '/x');
      assert.equal(none.status, 503);
      assert.match(none.body, /no colour to preview/);
    } finally {
      await idle.close(500);
    }
  });

  it(
    'fails with PORT_IN_USE naming host:port when the preview port is taken, and changes nothing',
    budget(100),
    async () => {
      const taken = await squat();
      try {
        const before = await loadSnapshot(file);
        await assert.rejects(
          proxy.configure(routes, { features: { ...features, preview: { host: '127.0.0.1', port: taken.port } } }),
          (e: Error & { code?: string; hint?: string }) => {
            assert.equal(e.code, 'PORT_IN_USE');
            assert.match(e.message, new RegExp(`127\\.0\\.0\\.1:${taken.port}`));
            assert.match(e.hint ?? '', /proxy\.listen\.preview/);
            return true;
          },
        );
        assert.deepEqual((await proxy.status()).features, features);
        assert.deepEqual(await loadSnapshot(file), before, 'nothing was persisted');
        assert.equal((await hit(previewPort, '/still')).colour, 'green', 'the old preview listener still serves');
      } finally {
        await taken.close();
      }
    },
  );

  it('moves the preview listener to a new port, then closes it when preview is turned off', budget(100), async () => {
    const next = await freePort();
    const moved = { ...features, preview: { host: '127.0.0.1', port: next } };
    await proxy.configure(routes, { features: moved });
    assert.equal((await hit(next, '/moved')).colour, 'green');
    await assert.rejects(hit(previewPort, '/old'), { code: 'ECONNREFUSED' });
    assert.deepEqual((await loadSnapshot(file))?.features, moved);

    await proxy.configure(routes, { features: { ...moved, preview: null } });
    await assert.rejects(hit(next, '/gone'), { code: 'ECONNREFUSED' });
    assert.equal((await proxy.status()).features.preview, null);
    await proxy.configure(routes, { features });
    assert.equal((await hit(previewPort, '/back')).colour, 'green');
  });

  it('keeps the preview listener across a restart from the snapshot', budget(100), async () => {
    ({ proxy } = await restartPersisted(proxy, file, port));
    assert.deepEqual((await proxy.status()).features, features);
    assert.equal((await hit(previewPort, '/r')).colour, 'green');
  });

  it('does not count preview traffic', budget(100), async () => {
    const before = await proxy.stats();
    await many(10, 5, () => hit(previewPort, '/p'));
    await many(10, 5, () => hit(port, '/p', { headers: { 'x-preview': 's3cret' } }));
    await many(7, 5, () => hit(port, '/p'));
    const s = diffStats(await proxy.stats(), before);
    assert.equal(s.colours.green.requests, 0);
    assert.equal(s.colours.blue.requests, 7);
  });
});
