/** The dashboard's pure rules: the token check, the Host/Origin checks, the bind rule, asset paths, body limits. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { resolveAsset } from '../../src/dashboard/assets.ts';
import { type HttpError, parseJsonBody, readLimited } from '../../src/dashboard/body.ts';
import {
  checkBind,
  generateToken,
  hostAllowed,
  isLoopbackHost,
  originAllowed,
  ownHosts,
  tokenMatches,
} from '../../src/dashboard/security.ts';

test('the token: only `Bearer <exact token>` matches', () => {
  const t = generateToken();
  assert.ok(t.length >= 43 && /^[A-Za-z0-9_-]+$/.test(t));
  assert.notEqual(generateToken(), t);
  assert.equal(tokenMatches(t, `Bearer ${t}`), true);
  assert.equal(tokenMatches(t, `bearer ${t}`), true);
  for (const bad of [undefined, '', 'Bearer', 'Bearer ', `Basic ${t}`, `Bearer ${t}x`, `Bearer ${t.slice(1)}`, t])
    assert.equal(tokenMatches(t, bad), false, String(bad));
  assert.equal(tokenMatches('', 'Bearer '), false, 'no token configured: nothing matches');
});

test('Host and Origin: the dashboard itself only', () => {
  const own = ownHosts('127.0.0.1', 8123);
  assert.ok(own);
  for (const h of ['127.0.0.1:8123', 'localhost:8123', 'LOCALHOST:8123']) assert.equal(hostAllowed(h, own), true, h);
  for (const h of [undefined, 'evil.example:8123', '127.0.0.1:8124', '127.0.0.1'])
    assert.equal(hostAllowed(h, own), false);
  assert.equal(originAllowed('http://127.0.0.1:8123', '127.0.0.1:8123', own), true);
  assert.equal(originAllowed('http://localhost:8123', 'localhost:8123', own), true);
  assert.equal(originAllowed('http://evil.example', '127.0.0.1:8123', own), false);
  assert.equal(originAllowed('null', '127.0.0.1:8123', own), false);
  assert.equal(originAllowed(undefined, '127.0.0.1:8123', own), false);
  assert.equal(originAllowed('http://127.0.0.1:8123', 'evil.example:8123', own), false);
  assert.equal(originAllowed('https://127.0.0.1:8123', '127.0.0.1:8123', own), false);
  // A wildcard bind: any Host, but the Origin must still be the page's own.
  assert.equal(ownHosts('0.0.0.0', 80), undefined);
  assert.equal(originAllowed('http://10.0.0.5:80', '10.0.0.5:80', undefined), true);
  assert.equal(originAllowed('http://evil.example', '10.0.0.5:80', undefined), false);
});

test('a bind beyond loopback needs a token', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) assert.equal(isLoopbackHost(h), true, h);
  for (const h of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1']) assert.equal(isLoopbackHost(h), false, h);
  checkBind('127.0.0.1', undefined);
  checkBind('0.0.0.0', 'a-token-of-sixteen-chars');
  assert.throws(() => checkBind('0.0.0.0', undefined), { code: 'USAGE', exitCode: 2 });
});

test('asset paths resolve to a listed file of the flat folder, never beyond it', () => {
  const names = new Set(['index.html', 'app.js', 'style.css']);
  assert.equal(resolveAsset('/', names), 'index.html');
  assert.equal(resolveAsset('/assets/app.js', names), 'app.js');
  assert.equal(resolveAsset('/assets/style.css', names), 'style.css');
  for (const bad of [
    '/assets/../../etc/passwd',
    '/assets/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
    '/assets/..%2fapp.js',
    '/assets/%2e%2e',
    '/assets/.%2e/app.js',
    '/assets/a%00.js',
    '/assets/..%5capp.js',
    '/assets/%E0%A4%A',
    '/assets/sub/app.js',
    '/assets/',
    '/assets/missing.js',
    '/etc/passwd',
    '/app.js',
  ])
    assert.equal(resolveAsset(bad, names), undefined, bad);
});

test('bodies: capped (413, before reading when declared), JSON objects only (400)', async () => {
  const chunks = (n: number) => Readable.from([Buffer.alloc(n, 'a'), Buffer.alloc(n, 'a')]);
  assert.equal((await readLimited(chunks(100), 16 * 1024)).length, 200);
  await assert.rejects(readLimited(chunks(9 * 1024), 16 * 1024), (e: HttpError) => e.status === 413);
  await assert.rejects(readLimited(Readable.from([]), 10, '100000'), (e: HttpError) => e.status === 413);
  assert.deepEqual(parseJsonBody(Buffer.from('{"on":true}'), 'application/json; charset=utf-8'), { on: true });
  assert.deepEqual(parseJsonBody(Buffer.alloc(0), undefined), {});
  for (const [body, type] of [
    ['{"on":true}', 'text/plain'],
    ['{"on":true}', undefined],
    ['{nope', 'application/json'],
    ['[1]', 'application/json'],
    ['"x"', 'application/json'],
    ['null', 'application/json'],
  ] as const)
    assert.throws(
      () => parseJsonBody(Buffer.from(body), type),
      (e: HttpError) => e.status === 400,
      `${body} ${type}`,
    );
});
