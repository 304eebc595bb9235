/** TLS termination in nginx with a self-signed certificate made here: HTTPS proxies, HTTP redirects. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { freePort, get, startBackend, type TestBackend } from '../helpers/backends.js';
import { nginxProject, type NginxProject } from '../helpers/nginx.js';
import { budget } from '../helpers/budget.js';

function selfSigned(dir: string): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile(
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
        path.join(dir, 'tls', 'key.pem'),
        '-out',
        path.join(dir, 'tls', 'cert.pem'),
      ],
      { timeout: 30_000 },
      (e, _o, err) => (e ? reject(new Error(`openssl failed: ${err}`)) : resolve()),
    ),
  );
}

describe('nginx with TLS', () => {
  let blue: TestBackend;
  let p: NginxProject;
  let https: number;
  const agent = new Agent({ connect: { rejectUnauthorized: false } });

  before(async () => {
    blue = await startBackend('blue');
    https = await freePort();
    p = await nginxProject([{ path: '/', service: 'app' }]);
    await fs.mkdir(path.join(p.root, 'tls'));
    await selfSigned(p.root);
  }, budget(300));
  after(async () => {
    await p.cleanup();
    await blue.close();
    await agent.close();
  }, budget(100));

  it('answers HTTPS through nginx and redirects HTTP with 301', budget(600), async () => {
    const driver = p.driverWith({ listen: { http: p.port, https }, tls: { cert: 'tls/cert.pem', key: 'tls/key.pem' } });
    const { control } = await driver.ensure();
    await control.setBackends('blue', { app: [{ host: '127.0.0.1', port: blue.port }] });
    await control.switchTo('blue');

    const res = await request(`https://127.0.0.1:${https}/secure?x=1`, {
      dispatcher: agent,
      headersTimeout: 5_000,
      bodyTimeout: 5_000,
    });
    const body = (await res.body.json()) as { colour: string; url: string; headers: Record<string, string> };
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['x-switchyard-env'], 'blue');
    assert.equal(body.colour, 'blue');
    assert.equal(body.url, '/secure?x=1');
    assert.equal(body.headers['x-forwarded-proto'], 'https');

    const plain = await get(p.port, '/secure?x=1', { headers: { host: 'example.test' } });
    assert.equal(plain.status, 301);
    assert.equal(plain.headers.location, `https://example.test:${https}/secure?x=1`);
    assert.equal(blue.hits.get('/secure'), 1, 'the redirect never reached the backend');
    await driver.stop();
  });
});
