/**
 * Issue 6 with the guide's production shape: the Docker runtime (containers per colour) and nginx
 * in its own container (`proxy.mode: container`), through the real CLI. The preview listener and
 * preview header reach the inactive colour, `switch --weight` splits new clients and keeps each one
 * on its colour, a release whose API fails every 5th request is rolled back during its canary step
 * with no operator action, and maintenance mode answers 503 through the container's nginx.
 * Loads are bounded in requests and time; requests go to 127.0.0.1 only.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { startLoad } from '../../src/load/load.ts';
import type { HistoryRecord } from '../../src/state/history.ts';
import { makeDockerProject, type DockerE2e } from '../helpers/docker-project.ts';
import { freePort } from '../helpers/project.ts';
import { stickyCookie, get, shares } from '../helpers/traffic.ts';
import { budget } from '../helpers/budget.ts';

const app = `sycan${process.pid}`;
const MIN_REQUESTS = 40;
const TOKEN = 'peek-2f9c';
/**
 * An API route the load and the share counts use: `FAIL_EVERY` (examples/app/api/server.mjs) applies
 * to it, not to /api/health.
 */
const ROUTE = '/api/slow';
let p: DockerE2e;
let preview: number;

async function history(): Promise<HistoryRecord[]> {
  return ((await p.file('.switchyard/history.jsonl')) ?? '')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as HistoryRecord);
}

before(async () => {
  p = await makeDockerProject({ app, sharedDb: false });
  preview = await freePort();
  const yml = path.join(p.dir, 'switchyard.yml');
  const listen = '  listen: { http: "${SWITCHYARD_PORT:-8080}", host: 127.0.0.1 }\n';
  const api = '    port: 5000\n';
  const text = await fs.readFile(yml, 'utf8');
  assert.ok(
    text.includes('  mode: host\n') && text.includes(listen) && text.includes(api) && !/^deploy:/m.test(text),
    'the example switchyard.yml changed shape',
  );
  await fs.writeFile(
    yml,
    text
      .replace('  mode: host\n', '  mode: container\n  image: switchyard/base:bookworm\n')
      .replace(
        listen,
        `  listen: { http: "\${SWITCHYARD_PORT:-8080}", host: 127.0.0.1, preview: ${preview} }\n` +
          `  preview: { header: X-Preview, token: ${TOKEN} }\n` +
          '  maintenance: { allow: [], retryAfter: 30s }\n',
      )
      // The failure knob of the example API: 0 (off) unless the deploy's environment sets it.
      .replace(api, `${api}    env: { FAIL_EVERY: "\${FAIL_EVERY:-0}" }\n`) +
      `deploy:\n  watch: 4s\n  rollbackOn: { errorRate: 2%, minRequests: ${MIN_REQUESTS} }\n`,
  );
  const init = await p.cli(['init']);
  assert.equal(init.code, 0, init.out);
  assert.ok(p.containers().includes(`${app}-proxy`), `containers: ${p.containers().join(', ')}`);
}, budget(20_000));
after(async () => {
  if (p) await p.cleanup();
}, budget(10_000));

test(
  'preview: the preview port and the preview header reach the kept old colour, the public port the live one',
  budget(29_200),
  async () => {
    const d = await p.cli(['deploy', '--auto-switch', '--keep-old']);
    assert.equal(d.code, 0, d.out);
    assert.deepEqual(
      p.containers({ colour: 'blue' }),
      [`${app}-api-blue`, `${app}-frontend-blue`],
      'blue is kept running',
    );
    for (let i = 0; i < 10; i++) {
      const pub = await get(p.port, ROUTE);
      assert.equal(pub.status, 200);
      assert.equal(pub.colour, 'green');
    }
    const pv = await get(preview, ROUTE);
    assert.equal(pv.status, 200, pv.body);
    assert.equal(pv.colour, 'blue');
    assert.equal((await get(preview, '/api/health')).colour, 'blue');
    const withToken = await get(p.port, ROUTE, { headers: { 'x-preview': TOKEN } });
    assert.equal(withToken.status, 200, withToken.body);
    assert.equal(withToken.colour, 'blue');
    assert.equal(
      (await get(p.port, ROUTE, { headers: { 'x-preview': 'wrong' } })).colour,
      'green',
      'a wrong token gets the live colour',
    );
    const pr = await p.cli(['preview', 'blue']);
    assert.equal(pr.code, 0, pr.out);
    assert.match(pr.out, new RegExp(`http://127\\.0\\.0\\.1:${preview}/`));
  },
);

test(
  'switch blue --weight 20: about 20% of new clients, sticky per client; --weight 0 ends it',
  budget(4_400),
  async (t) => {
    let r = await p.cli(['switch', 'blue', '--weight', '20']);
    assert.equal(r.code, 0, r.out);
    const n = 1000;
    const s = await shares(p.port, ROUTE, n);
    assert.deepEqual(Object.keys(s).sort(), ['blue', 'green'], JSON.stringify(s));
    const share = s.blue! / n;
    t.diagnostic(`weight 20: ${JSON.stringify(s)} of ${n} cookie-less requests`);
    assert.ok(
      share >= 0.15 && share <= 0.25,
      `blue got ${(share * 100).toFixed(1)}% at weight 20: ${JSON.stringify(s)}`,
    );
    const first = await get(p.port, ROUTE);
    const cookie = stickyCookie(first, 'sy_canary');
    assert.ok(cookie, `no sticky cookie set while a split runs: ${JSON.stringify(first.headers)}`);
    for (let i = 0; i < 30; i++) {
      const a = await get(p.port, ROUTE, { headers: { cookie } });
      assert.equal(a.status, 200);
      assert.equal(a.colour, first.colour, `request ${i} with ${cookie}`);
    }
    const st = await p.cli(['status']);
    assert.match(st.out, /split: +20% of clients on blue, 80% on green/);
    r = await p.cli(['switch', 'blue', '--weight', '0']);
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(await shares(p.port, ROUTE, 200), { green: 200 });
    assert.equal((await history()).at(-1)?.weight, 0);
  },
);

test(
  'a release failing 20% of requests is rolled back during its canary step, with no operator action',
  budget(9_000),
  async (t) => {
    const load = startLoad({
      origin: `http://127.0.0.1:${p.port}`,
      path: ROUTE,
      connections: 8,
      maxRequests: 150_000,
      maxMs: 200_000,
    });
    const r = await p.cli(['deploy', '--auto-switch', '--canary', '50,100', '--step-wait', '20s'], {
      env: { FAIL_EVERY: '5' },
      timeoutMs: 180_000,
    });
    const end = Date.now();
    // Keep loading a little after the command returned: those requests must all be green's 200s.
    const until = load.sent + 400;
    const t0 = Date.now();
    while (load.sent < until && Date.now() - t0 < 5000) await new Promise((res) => setTimeout(res, 20));
    const totals = await load.stop();
    t.diagnostic(
      `load: sent ${totals.sent} in ${totals.ms} ms, by colour ${JSON.stringify(totals.byColour)}, ` +
        `errors ${JSON.stringify(totals.errors)}`,
    );
    t.diagnostic(r.out.split('\n').find((l) => /failed its canary/.test(l)) ?? r.out);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /blue failed its canary at 50%: error rate \d+(\.\d+)?% is more than 2\.00% above/);

    assert.equal(
      totals.samples.filter((s) => s.status === 0).length,
      0,
      `transport failures: ${JSON.stringify(totals.errors)}`,
    );
    const wrong = totals.samples.filter((s) => s.status !== 200 && !(s.status === 500 && s.colour === 'blue'));
    assert.equal(wrong.length, 0, `answers other than 200 or blue's 500: ${JSON.stringify(wrong.slice(0, 3))}`);
    assert.ok(
      totals.samples.some((s) => s.status === 500 && s.colour === 'blue'),
      'blue served its canary share (and failed some of it)',
    );
    const late = totals.samples.filter((s) => totals.startedAt + s.at > end);
    assert.ok(late.length >= 100, `only ${late.length} requests after the deploy returned`);
    const off = late.filter((s) => s.status !== 200 || s.colour !== 'green');
    assert.equal(off.length, 0, `after the rollback: ${JSON.stringify(off.slice(0, 3))}`);

    const h = (await history()).filter((x) => x.type === 'deploy').at(-1)!;
    assert.equal(h.result, 'failed');
    assert.equal(h.watch?.verdict, 'fail', JSON.stringify(h.watch));
    assert.equal(h.watch?.percent, 50);
    assert.ok(h.watch!.target.requests >= MIN_REQUESTS, `judged on ${h.watch!.target.requests} requests`);
    assert.ok(
      h.watch!.target.errorRate >= 0.15 && h.watch!.target.errorRate <= 0.25,
      `error rate ${h.watch!.target.errorRate}`,
    );
    assert.equal(typeof h.watch?.rollbackMs, 'number');
    assert.match((await p.file('.switchyard/state.json')) ?? '', /"active": ?"green"/);
    assert.deepEqual(p.containers({ colour: 'blue' }), [], 'the failed colour is stopped');
    const st = await p.cli(['status']);
    assert.equal(st.code, 0, st.out);
    assert.doesNotMatch(st.out, /split:/);
  },
);

test(
  'maintenance on/off through the container nginx: 503 with Retry-After and the page, then 200',
  budget(3_000),
  async () => {
    // maintenance.allow is empty on purpose, and the allowlist is not tested here: which client
    // address nginx sees depends on how its container is networked (the docker gateway's address on
    // a bridge network; 127.0.0.1 with the `--network host` that src/proxy/nginx/container.ts uses),
    // so an allowlist test would prove Docker's networking rather than switchyard. The same rendered
    // allowlist is proved by e2e/canary with nginx on the host.
    let r = await p.cli(['maintenance', 'on', '--message', 'Back at <5pm> & soon']);
    assert.equal(r.code, 0, r.out);
    for (const route of [ROUTE, '/']) {
      const a = await get(p.port, route);
      assert.equal(a.status, 503, `${route}: ${a.status} ${a.body.slice(0, 200)}`);
      assert.equal(a.headers['retry-after'], '30');
      assert.match(String(a.headers['content-type']), /text\/html/);
      assert.match(String(a.headers['cache-control']), /no-store/);
      assert.match(a.body, /Back at &lt;5pm&gt; &amp; soon/);
    }
    const st = await p.cli(['status']);
    assert.match(st.out, /maintenance: +ON since/);
    r = await p.cli(['maintenance', 'off']);
    assert.equal(r.code, 0, r.out);
    const a = await get(p.port, ROUTE);
    assert.equal(a.status, 200, a.body);
    assert.equal(a.colour, 'green');
    assert.deepEqual(
      (await history()).filter((h) => h.type === 'maintenance').map((h) => h.reason),
      ['on: Back at <5pm> & soon', 'off'],
    );
  },
);
