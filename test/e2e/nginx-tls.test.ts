/** nginx terminating TLS: init and deploy verify through https, and plain http redirects. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Agent, request } from 'undici';
import { budget } from '../helpers/budget.ts';
import { freePort, makeProject, type Project } from '../helpers/project.ts';

let p: Project;
let httpsPort: number;
const insecure = new Agent({ connect: { rejectUnauthorized: false } });

before(async () => {
  p = await makeProject('fixture');
  httpsPort = await freePort();
  // A self-signed certificate made here, for this test only.
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-keyout',
      path.join(p.dir, 'key.pem'),
      '-out',
      path.join(p.dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  const file = path.join(p.dir, 'switchyard.yml');
  const yml = await fs.readFile(file, 'utf8');
  await fs.writeFile(
    file,
    yml
      .replace('kind: builtin', 'kind: nginx')
      .replace(
        'listen: { http: "${SWITCHYARD_PORT}", host: 127.0.0.1 }',
        `listen: { http: "\${SWITCHYARD_PORT}", https: ${httpsPort}, host: 127.0.0.1 }\n` +
          '  tls: { cert: cert.pem, key: key.pem }',
      ),
  );
}, budget(1_000));
after(async () => {
  await p.cleanup();
  await insecure.close();
}, budget(3_000));

async function overHttps(pathname: string) {
  const res = await request(`https://127.0.0.1:${httpsPort}${pathname}`, {
    dispatcher: insecure,
    headersTimeout: 5000,
    bodyTimeout: 5000,
  });
  const body = await res.body.text();
  return { status: res.statusCode, colour: res.headers['x-switchyard-env'], body };
}

test('init and deploy verify through https; http answers 301 to https', budget(4_400), async () => {
  const init = await p.run(['init']);
  assert.equal(init.code, 0, init.stdout + init.stderr);
  assert.equal((await overHttps('/api/echo')).colour, 'blue');

  await p.setBehaviour({ version: 'v2', mode: 'ok' });
  const d = await p.run(['deploy', '--auto-switch']);
  assert.equal(d.code, 0, d.stdout + d.stderr);
  const res = await overHttps('/api/echo');
  assert.equal(res.status, 200);
  assert.equal(res.colour, 'green');
  assert.equal(JSON.parse(res.body).version, 'v2');

  const plain = await request(`http://127.0.0.1:${p.port}/api/echo`, { headersTimeout: 5000 });
  await plain.body.dump();
  assert.equal(plain.statusCode, 301);
  assert.match(String(plain.headers.location), new RegExp(`^https://[^/]+:${httpsPort}/api/echo$`));
});

test('a missing certificate is a config error (exit 2) before anything runs', budget(200), async () => {
  await fs.rename(path.join(p.dir, 'key.pem'), path.join(p.dir, 'key.moved'));
  try {
    const r = await p.run(['deploy', '--auto-switch']);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /proxy\.tls\.key: file not found/);
  } finally {
    await fs.rename(path.join(p.dir, 'key.moved'), path.join(p.dir, 'key.pem'));
  }
});
