/**
 * A reload nginx refuses after `nginx -t` passed (its new listen port is taken): the command exits 1
 * with the reason, the previous configuration is put back, and the live colour keeps serving.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { freePort, makeProject, type Project } from '../helpers/project.ts';

let p: Project;
let squatter: net.Server | undefined;
before(async () => {
  p = await makeProject('fixture', { proxy: 'nginx' });
  const r = await p.run(['init']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
});
after(async () => {
  squatter?.close();
  await p.cleanup();
});

test('nginx refusing a reload leaves the old config serving and the command exits 1', async () => {
  const conf = await p.file('.switchyard/nginx/nginx.conf');
  const taken = await freePort();
  squatter = net.createServer().listen(taken, '127.0.0.1');
  await new Promise((r) => squatter!.once('listening', r));
  // Same nginx, new public port: `nginx -t` accepts it (it binds nothing), the master cannot bind it.
  const r = await p.run(['switch', 'blue'], { env: { SWITCHYARD_PORT: String(taken) } });
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /nginx refused to reload: .*Address already in use/);
  assert.ok(r.ms < 8000, `the refusal was noticed at once, not after the reload timeout (${r.ms} ms)`);
  assert.equal(await p.file('.switchyard/nginx/nginx.conf'), conf, 'the previous configuration was put back');
  const res = await p.get('/api/echo');
  assert.equal(res.status, 200);
  assert.equal(res.colour, 'blue');
  assert.equal((await p.run(['status'])).code, 0);
});
