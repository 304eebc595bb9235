/**
 * A reload nginx refuses after `nginx -t` passed (its new listen port is taken): the command exits 1
 * with the reason, the previous configuration is put back, and the live colour keeps serving.
 * Nothing else moves either: state.json, .current-env and nginx's own state are byte-identical, and
 * history.jsonl only gains the failed command's own record (every earlier byte unchanged).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { budget } from '../helpers/budget.ts';
import { freePort, makeInitedProject, type Project } from '../helpers/project.ts';

let p: Project;
let squatter: net.Server | undefined;
before(async () => {
  p = await makeInitedProject('fixture', { proxy: 'nginx' });
}, budget(4_000));
after(async () => {
  squatter?.close();
  await p.cleanup();
}, budget(3_000));

test('nginx refusing a reload leaves the old config serving and the command exits 1', budget(4_700), async () => {
  const conf = await p.file('.switchyard/nginx/nginx.conf');
  const state = await p.file('.switchyard/state.json');
  const currentEnv = await p.file('.current-env');
  const nginxState = await p.file('.switchyard/nginx/state.json');
  const history = await p.file('.switchyard/history.jsonl');
  assert.ok(
    state && currentEnv && nginxState && history,
    'init wrote state.json, .current-env, nginx state and history',
  );
  assert.equal(currentEnv.trim(), 'blue');
  const lastBefore = JSON.parse(history.trim().split('\n').at(-1)!);
  assert.equal(lastBefore.type, 'init');
  assert.equal(lastBefore.result, 'success');
  const taken = await freePort();
  squatter = net.createServer().listen(taken, '127.0.0.1');
  await new Promise((r) => squatter!.once('listening', r));
  // Same nginx, new public port: `nginx -t` accepts it (it binds nothing), the master cannot bind it.
  const r = await p.run(['switch', 'blue'], { env: { SWITCHYARD_PORT: String(taken) } });
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /nginx refused to reload: .*Address already in use/);
  assert.ok(r.ms < 8000, `the refusal was noticed at once, not after the reload timeout (${r.ms} ms)`);
  assert.equal(await p.file('.switchyard/nginx/nginx.conf'), conf, 'the previous configuration was put back');
  assert.equal(await p.file('.switchyard/state.json'), state, 'state.json unchanged, byte for byte');
  assert.equal(await p.file('.current-env'), currentEnv, '.current-env unchanged, byte for byte');
  assert.equal(await p.file('.switchyard/nginx/state.json'), nginxState, "nginx's own state unchanged");
  assert.equal(await p.file('.switchyard/nginx/green.active'), undefined, 'the flag file still says blue');
  assert.equal(await p.file('.switchyard/journal.json'), undefined, 'no journal left for recover: nothing moved');
  // Every command appends one record, failed ones included: the old bytes stay, one line is added.
  const historyAfter = (await p.file('.switchyard/history.jsonl'))!;
  assert.ok(historyAfter.startsWith(history), 'history.jsonl: every earlier record unchanged, byte for byte');
  const added = historyAfter.slice(history.length).trim().split('\n');
  assert.equal(added.length, 1, `one record added: ${added.join('\n')}`);
  const rec = JSON.parse(added[0]!);
  assert.equal(rec.type, 'switch');
  assert.equal(rec.result, 'failed');
  assert.match(rec.reason, /nginx refused to reload/);
  const st = await p.run(['status', '--json']);
  const report = JSON.parse(st.stdout.trim().split('\n').at(-1)!);
  assert.deepEqual(
    report.lastDeploy,
    lastBefore,
    'the last deploy/rollback/init status reports is still the init, unchanged',
  );
  const res = await p.get('/api/echo');
  assert.equal(res.status, 200);
  assert.equal(res.colour, 'blue');
  assert.equal((await p.run(['status'])).code, 0);
});

test(
  'a listen port that frees up while nginx retries bind(): the reload took effect, and the command says so',
  budget(1_500),
  async () => {
    const taken = await freePort();
    const late = net.createServer().listen(taken, '127.0.0.1');
    await new Promise((r) => late.once('listening', r));
    const errorLog = '.switchyard/nginx/error.log';
    const logBefore = (await p.file(errorLog))?.length ?? 0;
    const run = p.run(['switch', 'blue'], { env: { SWITCHYARD_PORT: String(taken) } });
    // nginx logs each failed bind() and retries for about 2 s: free the port after the first one.
    const deadline = Date.now() + 8000;
    while (!((await p.file(errorLog)) ?? '').slice(logBefore).includes(`bind() to 127.0.0.1:${taken} failed`)) {
      assert.ok(Date.now() < deadline, 'nginx never tried to bind the new port');
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => late.close(r));
    const r = await run;
    assert.equal(r.code, 0, `nginx got the port on a retry and runs the new config: ${r.stdout}${r.stderr}`);
    const res = await fetch(`http://127.0.0.1:${taken}/api/echo`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-switchyard-env'), 'blue');
    await res.arrayBuffer();
    // Back to the project's own port, so the rest of the suite and cleanup find it there.
    const back = await p.run(['switch', 'blue']);
    assert.equal(back.code, 0, back.stdout + back.stderr);
    assert.equal((await p.get('/api/echo')).colour, 'blue');
  },
);
