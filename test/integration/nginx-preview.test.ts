/**
 * Preview through a real nginx: a second listener serving the inactive colour, and a header or
 * cookie carrying the token on the public listener. The token has a "$" so the test also proves
 * it is rendered literally (nginx would otherwise read a variable).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { featuresOf } from '../../src/proxy/features.js';
import { canConnect } from '../../src/util/can-connect.js';
import { freePort } from '../helpers/backends.js';
import { nginxConfig } from '../helpers/nginx.js';
import { generation, send, trafficRig, type TrafficRig } from '../helpers/nginx-traffic.js';
import { budget } from '../helpers/budget.js';

const TOKEN = "s3cr$t{x}'#";

describe('nginx preview', () => {
  let r: TrafficRig;
  let preview: number;
  before(async () => {
    preview = await freePort();
    r = await trafficRig({ preview: { header: 'X-Preview', cookie: 'sy_preview', token: TOKEN } }, { preview });
  }, budget(700));
  after(async () => r.close(), budget(300));

  it('the preview port answers from the inactive colour and says which', budget(100), async () => {
    const g0 = await generation(r.p);
    const st = await r.control.status();
    assert.deepEqual(st.features.preview, { host: '127.0.0.1', port: preview });
    assert.deepEqual(st.features.previewMatch, { header: 'X-Preview', cookie: 'sy_preview', token: TOKEN });
    const a = await send(preview, '/x');
    assert.equal(a.status, 200);
    assert.equal(a.colour, 'green');
    assert.equal(JSON.parse(a.body).colour, 'green');
    assert.equal((await send(r.p.port, '/x')).colour, 'blue');
    await r.control.switchTo('green');
    assert.equal((await send(preview, '/x')).colour, 'blue');
    assert.equal((await send(r.p.port, '/x')).colour, 'green');
    await r.control.switchTo('blue');
    assert.deepEqual(await generation(r.p), g0, 'no reload');
  });

  it(
    'public port: the header or cookie with the token goes to the inactive colour; a wrong token is ignored',
    budget(100),
    async () => {
      const pub = (headers: Record<string, string>) => send(r.p.port, '/', { headers }).then((x) => x.colour);
      assert.equal(await pub({ 'x-preview': TOKEN }), 'green');
      assert.equal(await pub({ 'X-PREVIEW': TOKEN }), 'green', 'header names are case-insensitive');
      assert.equal(await pub({ 'x-preview': TOKEN.toUpperCase() }), 'blue', 'the token is not');
      assert.equal(await pub({ 'x-preview': `${TOKEN}x` }), 'blue');
      assert.equal(await pub({ 'x-preview': 's3cr' }), 'blue');
      assert.equal(await pub({ 'x-preview': '1' }), 'blue');
      assert.equal(await pub({ cookie: `a=1; sy_preview=${TOKEN}; b=2` }), 'green');
      assert.equal(await pub({ cookie: `sy_preview=${TOKEN}` }), 'green');
      assert.equal(await pub({ cookie: `sy_preview=${TOKEN}x` }), 'blue');
      assert.equal(await pub({ cookie: `xsy_preview=${TOKEN}` }), 'blue', 'another cookie whose name ends the same');
      assert.equal(await pub({ cookie: `sy_previewx=${TOKEN}` }), 'blue');
      assert.equal(await pub({}), 'blue');
      await r.control.switchTo('green');
      assert.equal(await pub({ 'x-preview': TOKEN }), 'blue', 'always the inactive colour');
      await r.control.switchTo('blue');
    },
  );

  it('the preview listener is not in maintenance and not counted', budget(1_300), async () => {
    await r.control.setWatch(true);
    await r.control.setMaintenance({ on: true });
    try {
      assert.equal((await send(r.p.port, '/', { from: '127.0.0.2' })).status, 503);
      const pv = await send(preview, '/', { from: '127.0.0.2' });
      assert.equal(pv.status, 200);
      assert.equal(pv.colour, 'green');
      assert.equal(
        (await send(r.p.port, '/', { headers: { 'x-preview': TOKEN }, from: '127.0.0.2' })).status,
        503,
        'the public listener is, header or not',
      );
    } finally {
      await r.control.setMaintenance({ on: false });
    }
    await send(preview, '/');
    await new Promise((res) => setTimeout(res, 1_300)); // a counted request would be in the log well before this
    const s = await r.control.stats();
    assert.equal(s.colours.green.requests + s.colours.blue.requests, 0, JSON.stringify(s.colours));
    await r.control.setWatch(false);
  });

  it('configure() without preview reloads once and closes the preview listener', budget(300), async () => {
    const g0 = await generation(r.p);
    const cfg = nginxConfig(r.p.port, [{ path: '/', service: 'app' }]);
    await r.control.configure([{ path: '/', service: 'app' }], { features: featuresOf(cfg.proxy) });
    const st = await r.control.status();
    assert.equal(st.features.preview, null);
    assert.equal(st.features.previewMatch, null);
    assert.equal(await canConnect('127.0.0.1', preview), false);
    assert.equal(
      (await send(r.p.port, '/', { headers: { 'x-preview': TOKEN } })).colour,
      'blue',
      'no matcher any more',
    );
    const g1 = await generation(r.p);
    assert.equal(g1.master, g0.master);
    assert.notDeepEqual(g1.workers, g0.workers, 'a config change is a reload');
  });
});
