// What a compose service is when its image name does not say: a database by its server's variables,
// data folder, own-client healthcheck or server command; nginx by its command or a mount into
// /etc/nginx; a Dockerfile's FROM with its ARGs filled. And app-service hosts in environment values.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { dockerfileBase } from '../../src/compose/dockerfile.ts';
import { namesHost } from '../../src/compose/hosts.ts';
import { convertCompose } from '../../src/compose/index.ts';
import { classify } from '../../src/compose/roles.ts';
import { databaseSigns, nginxSigns } from '../../src/compose/signals.ts';
import type { JsonMap } from '../../src/compose/types.ts';

const root = mkdtempSync(path.join(tmpdir(), 'sy-compose-roles-'));
after(() => rmSync(root, { recursive: true, force: true }));

function dockerfile(name: string, text: string): string {
  mkdirSync(path.join(root, name), { recursive: true });
  writeFileSync(path.join(root, name, 'Dockerfile'), text);
  return name;
}

test('a database by its server variables, not by a client of it', () => {
  const env = (environment: JsonMap) => databaseSigns({ image: 'x', environment });
  assert.deepEqual(env({ POSTGRES_USER: 'a', POSTGRES_PASSWORD: 'b', POSTGRES_DB: 'c' }), {
    kind: 'postgres',
    reasons: ['POSTGRES_* variables'],
  });
  assert.equal(env({ POSTGRES_HOST: 'db', POSTGRES_PASSWORD: 'b' }), undefined, 'a client names its host');
  assert.equal(env({ POSTGRES_URL: 'postgres://db/x' }), undefined);
  assert.equal(env({ DATABASE_URL: 'postgres://db/x' }), undefined);
  assert.equal(env({ MYSQL_ROOT_PASSWORD_FILE: '/run/secrets/root' })?.kind, 'mysql');
  assert.equal(env({ MARIADB_ROOT_PASSWORD: 'x', MYSQL_DATABASE: 'y' })?.kind, 'mariadb');
});

test('a database by its data folder, its own healthcheck or its server command', () => {
  assert.deepEqual(databaseSigns({ volumes: ['pg:/var/lib/postgresql/data/'] }), {
    kind: 'postgres',
    reasons: ['a volume at /var/lib/postgresql/data'],
  });
  assert.equal(databaseSigns({ volumes: [{ type: 'volume', source: 'm', target: '/var/lib/mysql' }] })?.kind, 'mysql');
  const health = (test: JsonMap['x']) => databaseSigns({ healthcheck: { test } })?.kind;
  assert.equal(health(['CMD', 'pg_isready', '-U', 'app']), 'postgres');
  assert.equal(health(['CMD-SHELL', 'redis-cli ping | grep PONG']), 'redis');
  assert.equal(health('pg_isready -h 127.0.0.1'), 'postgres');
  assert.equal(health(['CMD', 'pg_isready', '-h', 'db']), undefined, 'checks another host: a client');
  assert.equal(health('redis-cli --host=cache ping'), undefined);
  assert.equal(databaseSigns({ command: 'redis-server --appendonly yes' })?.kind, 'redis');
  assert.equal(databaseSigns({ command: ['/usr/local/bin/postgres', '-c', 'fsync=off'] })?.kind, 'postgres');
  assert.equal(databaseSigns({ command: 'node server.js' }), undefined);
  // Signs of two databases: no decision.
  assert.equal(databaseSigns({ environment: { POSTGRES_PASSWORD: 'x' }, volumes: ['d:/var/lib/mysql'] }), undefined);
  assert.deepEqual(
    databaseSigns({ environment: { POSTGRES_PASSWORD: 'x' }, healthcheck: { test: 'pg_isready' } })?.reasons,
    ['POSTGRES_* variables', 'a pg_isready healthcheck'],
  );
});

test('nginx by its command or entrypoint, or a mount into /etc/nginx', () => {
  assert.deepEqual(nginxSigns({ command: ['nginx', '-g', 'daemon off;'] }), ['command nginx']);
  assert.deepEqual(nginxSigns({ entrypoint: '/usr/sbin/nginx -g "daemon off;"' }), ['entrypoint nginx']);
  assert.deepEqual(nginxSigns({ volumes: ['./site.conf:/etc/nginx/conf.d/default.conf:ro'] }), [
    'a config mounted at /etc/nginx/conf.d/default.conf',
  ]);
  assert.deepEqual(nginxSigns({ command: 'node nginx.js', volumes: ['./html:/usr/share/nginx/html'] }), []);
});

test("a Dockerfile's last FROM, its ARGs filled from the build args or their defaults", () => {
  const base = (name: string, text: string, args?: JsonMap) =>
    dockerfileBase(root, { context: dockerfile(name, text), ...(args ? { args } : {}) });
  assert.deepEqual(base('a', 'ARG BASE=postgres:16\nFROM ${BASE}\n'), { image: 'postgres:16', written: '${BASE}' });
  assert.deepEqual(base('b', 'ARG BASE=postgres:16\nFROM $BASE\n', { BASE: 'mysql:8' }), {
    image: 'mysql:8',
    written: '$BASE',
  });
  assert.equal(base('c', 'FROM ${BASE:-redis:7-alpine}\n')?.image, 'redis:7-alpine');
  assert.equal(base('d', 'FROM ${UNSET}\n'), undefined, 'an ARG without a value: unknown');
  assert.equal(base('e', 'FROM node:22\nARG PG=postgres:16\nFROM ${PG}\n'), undefined, 'ARG after the first FROM');
  assert.deepEqual(base('f', 'ARG V=16\nFROM postgres:${V}-alpine AS db\nRUN x\nFROM db\n'), {
    image: 'postgres:16-alpine',
    written: 'db',
  });
  assert.deepEqual(base('g', 'FROM --platform=linux/amd64 \\\n  postgres:15\n'), { image: 'postgres:15' });
  assert.equal(dockerfileBase(root, { context: 'missing' }), undefined);
});

test('classify: image names first, then the Dockerfile, then the signs; a build is never the proxy', () => {
  assert.deepEqual(classify(root, { image: 'postgres:16' }), {
    role: 'shared',
    image: 'postgres:16',
    kind: 'postgres',
  });
  assert.deepEqual(classify(root, { image: 'nginx:1.27' }), { role: 'proxy', image: 'nginx:1.27', proxy: 'nginx' });
  const built = classify(root, { build: { context: dockerfile('h', 'ARG BASE=postgres:16\nFROM ${BASE}\n') } });
  assert.deepEqual(built, {
    role: 'shared',
    image: 'postgres:16',
    kind: 'postgres',
    why: 'built FROM ${BASE} (postgres:16)',
    whyAt: 'build',
  });
  assert.deepEqual(classify(root, { image: 'me/base', command: ['nginx', '-g', 'daemon off;'] }), {
    role: 'proxy',
    image: 'me/base',
    proxy: 'nginx',
    why: 'command nginx',
  });
  assert.equal(classify(root, { build: { context: '.' }, command: 'nginx' }).role, 'app');
  assert.deepEqual(classify(root, { build: { context: '.' }, environment: { POSTGRES_PASSWORD: 'x' } }), {
    role: 'shared',
    kind: 'postgres',
    why: 'POSTGRES_* variables',
  });
  assert.deepEqual(classify(root, { image: 'me/api', environment: { POSTGRES_HOST: 'db' } }), {
    role: 'app',
    image: 'me/api',
  });
});

test('an environment value names a host: in a URL, as host:port, or alone in a *HOST* variable', () => {
  assert.ok(namesHost('API_URL', 'http://api:4000/v1', 'api'));
  assert.ok(namesHost('API', 'https://user:pw@api/x', 'api'));
  assert.ok(namesHost('UPSTREAM', 'api:4000', 'api'));
  assert.ok(namesHost('API_HOST', 'api', 'api'));
  assert.ok(!namesHost('MODE', 'api', 'api'), 'a plain word');
  assert.ok(!namesHost('URL', 'http://apix:4000', 'api'));
  assert.ok(!namesHost('URL', 'http://my-api:4000', 'api'));
  assert.ok(!namesHost('X', 'myapi:4000', 'api'));
  assert.ok(!namesHost('PATH_PREFIX', '/api:4000', 'api'));
});

test('a second nginx (not the one in front) is an app service, not dropped', async () => {
  const dir = path.join(root, 'two-nginx');
  mkdirSync(dir);
  writeFileSync(
    path.join(dir, 'compose.yaml'),
    'services:\n  edge:\n    image: nginx:1.27\n    ports: ["8080:80"]\n' +
      '  docs:\n    image: me/docs\n    command: ["nginx", "-g", "daemon off;"]\n    expose: ["80"]\n',
  );
  const r = await convertCompose({ dir, env: {} });
  const c = parse(r.text) as { proxy: { kind: string }; services: Record<string, { image?: string }> };
  assert.equal(c.proxy.kind, 'nginx');
  assert.deepEqual(Object.keys(c.services), ['docs']);
  assert.equal(c.services.docs?.image, 'me/docs');
});
