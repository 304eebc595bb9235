// Bad compose input: each gives a SwitchyardError (COMPOSE_INVALID, exit 2) whose message names the
// file and line, and a hint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { convertCompose } from '../../src/compose/index.ts';
import { isSwitchyardError } from '../../src/errors.ts';

function project(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'sy-compose-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

async function refused(
  files: Record<string, string>,
  where: RegExp,
  opts: { files?: string[]; env?: Record<string, string> } = {},
) {
  const dir = project(files);
  await assert.rejects(
    convertCompose({ dir, env: opts.env ?? {}, ...(opts.files ? { files: opts.files } : {}) }),
    (e) => {
      assert.ok(isSwitchyardError(e), String(e));
      assert.equal(e.code, 'COMPOSE_INVALID');
      assert.equal(e.exitCode, 2);
      assert.match(e.message, where);
      assert.ok(e.hint);
      return true;
    },
  );
}

test('a file that is not a mapping', async () => {
  await refused({ 'compose.yaml': '- a\n- b\n' }, /^compose\.yaml:1: not a compose file/);
});

test('a file without services', async () => {
  await refused({ 'compose.yaml': 'volumes:\n  data: {}\n' }, /^compose\.yaml:1: not a compose file: no "services"/);
});

test('an unknown top-level key names its line', async () => {
  await refused(
    { 'compose.yaml': 'services:\n  a:\n    image: x\napp: shop\n' },
    /^compose\.yaml:4: unknown top-level key "app"/,
  );
});

test('YAML syntax errors name their line', async () => {
  await refused(
    { 'docker-compose.yml': 'services:\n  a:\n    image: [x\n' },
    /^docker-compose\.yml:\d+: not valid YAML/,
  );
});

test('an unknown service key is refused by the Compose Specification', async () => {
  await refused(
    { 'compose.yaml': 'services:\n  a:\n    image: x\n    imgae: y\n' },
    /^compose\.yaml:4: services\.a: unknown key "imgae" \(Compose Specification\)/,
  );
});

test('a service with neither build nor image', async () => {
  await refused(
    { 'compose.yaml': 'services:\n  web:\n    image: x\n  worker:\n    command: ["run"]\n' },
    /^compose\.yaml:4: services\.worker: needs "build" or "image"/,
  );
});

test('an nginx config that cannot be read names the volume line', async () => {
  await refused(
    {
      'compose.yaml': [
        'services:',
        '  api:',
        '    build: .',
        '  nginx:',
        '    image: nginx:1.27',
        '    ports: ["80:80"]',
        '    volumes:',
        '      - ./nginx/default.conf:/etc/nginx/conf.d/default.conf:ro',
        '',
      ].join('\n'),
    },
    /^compose\.yaml:8: cannot read the nginx config \.\/nginx\/default\.conf/,
  );
});

test('an nginx config with unbalanced braces', async () => {
  await refused(
    {
      'compose.yaml':
        'services:\n  api:\n    build: .\n  nginx:\n    image: nginx\n' +
        '    volumes:\n      - ./n.conf:/etc/nginx/nginx.conf\n',
      'n.conf': 'http {\n  server {\n    location / { proxy_pass http://api:3000; }\n',
    },
    /^compose\.yaml:7: cannot read the nginx config n\.conf: unexpected end of file/,
  );
});

test('two services publishing the same port', async () => {
  await refused(
    {
      'compose.yaml':
        'services:\n  a:\n    image: x\n    ports: ["8080:80"]\n' +
        '  b:\n    image: y\n    ports:\n      - "0.0.0.0:8080:3000"\n',
    },
    /^compose\.yaml:8: services\.b publishes port 8080, already published by services\.a \(compose\.yaml:4\)/,
  );
});

test('the same port published by a base file and another service in the override names both files', async () => {
  await refused(
    {
      'compose.yaml': 'services:\n  a:\n    image: x\n    ports: ["80:80"]\n  b:\n    image: y\n',
      'compose.override.yaml': 'services:\n  b:\n    ports: ["80:8080"]\n',
    },
    /^compose\.override\.yaml:3: services\.b publishes port 80, already published by services\.a \(compose\.yaml:4\)/,
  );
});

test('a missing required variable names file, line and message; the secret-free message only', async () => {
  await refused(
    {
      'compose.yaml':
        'services:\n  db:\n    image: postgres\n    environment:\n      P: ${DB_PASSWORD:?set DB_PASSWORD}\n',
    },
    /^compose\.yaml:5: required variable DB_PASSWORD is missing a value: set DB_PASSWORD/,
  );
  await refused(
    { 'compose.yaml': 'services:\n  db:\n    image: postgres\n    environment:\n      P: ${DB_PASSWORD?}\n' },
    /^compose\.yaml:5: required variable DB_PASSWORD/,
  );
});

test('a lone "$" is an invalid interpolation', async () => {
  await refused(
    { 'compose.yaml': 'services:\n  a:\n    image: x\n    command: echo $ 1\n' },
    /^compose\.yaml:4: invalid interpolation/,
  );
});

test('depends_on a service that does not exist, or whose profile is off', async () => {
  await refused(
    { 'compose.yaml': 'services:\n  a:\n    image: x\n    depends_on: [db]\n' },
    /^compose\.yaml:4: services\.a depends on "db", which is not a service/,
  );
  await refused(
    {
      'compose.yaml':
        'services:\n  a:\n    image: x\n    depends_on:\n      - db\n  db:\n    image: postgres\n    profiles: [db]\n',
    },
    /^compose\.yaml:5: services\.a depends on "db", whose profile is not active/,
  );
});

test('no compose file at all', async () => {
  await assert.rejects(convertCompose({ dir: project({}), env: {} }), /no compose file in/);
});

test('an -f file that does not exist', async () => {
  await refused({ 'compose.yaml': 'services: {}\n' }, /^prod\.yml:1: cannot read the file/, { files: ['prod.yml'] });
});
