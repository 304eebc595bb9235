/** The files a validated config names (src/config/files.ts): one wording for each kind of wrong. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileProblems } from '../../src/config/files.ts';
import { configSchema } from '../../src/config/schema.ts';

const root = mkdtempSync(path.join(tmpdir(), 'sy-config-files-'));
after(() => rmSync(root, { recursive: true, force: true }));
mkdirSync(path.join(root, 'api'));
mkdirSync(path.join(root, 'a-folder'));
writeFileSync(path.join(root, 'a-file'), 'x');
writeFileSync(path.join(root, 'api', 'Dockerfile'), 'FROM scratch\n');

const docker = (services: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  configSchema.parse({
    app: 'a',
    runtime: 'docker',
    proxy: { kind: 'nginx', listen: { http: 8080 }, routes: [{ path: '/', service: Object.keys(services)[0] }] },
    services,
    ...extra,
  });

test('missing, of the wrong kind, or no name at all (a NUL byte): each said as such, with the path', () => {
  const c = docker(
    {
      ok: { build: './api', port: 80, health: { path: '/' } },
      bad: { cwd: 'a-file', env_file: 'a-folder', build: { context: './a-folder' }, port: 80, health: { path: '/' } },
      nul: { cwd: 'a\u0000b', env_file: 'nope.env', build: './nowhere', port: 80, health: { path: '/' } },
    },
    { shared: { db: { build: { context: './api', dockerfile: 'Nope' }, env_file: 'a-folder' } } },
  );
  assert.deepEqual(fileProblems(c, root), [
    { path: 'services.bad.cwd', message: 'is not a folder', got: 'a-file' },
    { path: 'services.bad.env_file', message: 'is not a file', got: 'a-folder' },
    {
      path: 'services.bad.build.dockerfile',
      message: 'file not found (relative to the build context ./a-folder)',
      got: 'Dockerfile',
    },
    { path: 'services.nul.cwd', message: 'folder not found', got: 'a\u0000b' },
    { path: 'services.nul.env_file', message: 'file not found', got: 'nope.env' },
    { path: 'services.nul.build', message: 'build context folder not found', got: './nowhere' },
    {
      path: 'shared.db.build.dockerfile',
      message: 'file not found (relative to the build context ./api)',
      got: 'Nope',
    },
    { path: 'shared.db.env_file', message: 'is not a file', got: 'a-folder' },
  ]);
});

test("nginx's certificate and key: a folder is not a file, a missing one is not found", () => {
  const c = docker(
    { ok: { build: './api', port: 80, health: { path: '/' } } },
    {
      proxy: {
        kind: 'nginx',
        listen: { http: 8080, https: 8443 },
        tls: { cert: 'a-folder', key: 'k.pem' },
        routes: [{ path: '/', service: 'ok' }],
      },
    },
  );
  assert.deepEqual(fileProblems(c, root), [
    { path: 'proxy.tls.cert', message: 'is not a file', got: 'a-folder' },
    { path: 'proxy.tls.key', message: 'file not found', got: 'k.pem' },
  ]);
});
