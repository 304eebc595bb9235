// compose's merge rules across -f files, with the line of each value following it; and the small
// readers the converter uses (ports, nginx config, durations, shell words).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { toDuration } from '../../src/compose/health.ts';
import { locate } from '../../src/compose/interpolate.ts';
import { shellWords } from '../../src/compose/keys.ts';
import { mergeFiles } from '../../src/compose/merge.ts';
import { nginxFacts, parseNginx } from '../../src/compose/nginx.ts';
import { normalizeFile } from '../../src/compose/normalize.ts';
import { parseComposeFile } from '../../src/compose/parse.ts';
import { parsePort } from '../../src/compose/ports.ts';

function merged(...texts: string[]) {
  const dir = mkdtempSync(path.join(tmpdir(), 'sy-merge-'));
  const files = texts.map((t, i) => {
    writeFileSync(path.join(dir, `f${i}.yml`), t);
    const f = parseComposeFile(dir, `f${i}.yml`);
    normalizeFile(f);
    return f;
  });
  return mergeFiles(files);
}

test('mappings merge, scalars are replaced, list-form environment becomes a mapping', () => {
  const m = merged(
    'services:\n  a:\n    image: x:1\n    environment:\n      - A=1\n      - B=2\n',
    'services:\n  a:\n    image: x:2\n    environment:\n      B: 3\n      C: 4\n',
  );
  assert.deepEqual(m.data.services, { a: { image: 'x:2', environment: { A: '1', B: 3, C: 4 } } });
  assert.deepEqual(locate(m, ['services', 'a', 'environment', 'A']), { file: 'f0.yml', line: 5 });
  assert.deepEqual(locate(m, ['services', 'a', 'environment', 'B']), { file: 'f1.yml', line: 5 });
  assert.deepEqual(locate(m, ['services', 'a', 'image']), { file: 'f1.yml', line: 3 });
});

test('command and healthcheck.test are replaced; ports are unique; volumes merge by target', () => {
  const m = merged(
    'services:\n  a:\n    image: x\n    command: [a, b]\n    healthcheck:\n      test: [CMD, a]\n      retries: 2\n' +
      '    ports: ["80:80"]\n    volumes: ["d:/data", "./c:/conf"]\n',
    'services:\n  a:\n    command: [c]\n    healthcheck:\n      test: [CMD, b]\n    ports: ["80:80", "81:81"]\n' +
      '    volumes: ["./local:/data"]\n',
  );
  const a = (m.data.services as Record<string, Record<string, unknown>>).a;
  assert.deepEqual(a?.command, ['c']);
  assert.deepEqual(a?.healthcheck, { test: ['CMD', 'b'], retries: 2 });
  assert.deepEqual(a?.ports, ['80:80', '81:81']);
  assert.deepEqual(a?.volumes, ['./local:/data', './c:/conf']);
  assert.deepEqual(locate(m, ['services', 'a', 'volumes', 0]), { file: 'f1.yml', line: 7 });
  assert.deepEqual(locate(m, ['services', 'a', 'volumes', 1]), { file: 'f0.yml', line: 9 });
});

test('other sequences append; depends_on lists become mappings; !reset and !override', () => {
  const m = merged(
    'services:\n  a:\n    image: x\n    dns: [1.1.1.1]\n    depends_on: [db]\n' +
      '    ports: ["80:80"]\n    cap_add: [A]\n  db:\n    image: postgres\n',
    'services:\n  a:\n    depends_on: [cache]\n    ports: !reset []\n' +
      '    cap_add: !override [B]\n  cache:\n    image: redis\n',
  );
  const a = (m.data.services as Record<string, Record<string, unknown>>).a;
  assert.deepEqual(a?.depends_on, { db: { condition: 'service_started' }, cache: { condition: 'service_started' } });
  assert.equal(a?.ports, undefined);
  assert.deepEqual(a?.cap_add, ['B']);
  assert.deepEqual(a?.dns, ['1.1.1.1']);
});

test('ports: short and long syntax', () => {
  assert.deepEqual(parsePort('8080:80'), { published: '8080', target: 80, protocol: 'tcp' });
  assert.deepEqual(parsePort('127.0.0.1:5432:5432/tcp'), {
    hostIp: '127.0.0.1',
    published: '5432',
    target: 5432,
    protocol: 'tcp',
  });
  assert.deepEqual(parsePort('[::1]:53:53/udp'), { hostIp: '::1', published: '53', target: 53, protocol: 'udp' });
  assert.deepEqual(parsePort('3000'), { target: 3000, protocol: 'tcp' });
  assert.deepEqual(parsePort(3000), { target: 3000, protocol: 'tcp' });
  assert.deepEqual(parsePort({ target: 80, published: '8080', host_ip: '0.0.0.0' }), {
    hostIp: '0.0.0.0',
    published: '8080',
    target: 80,
    protocol: 'tcp',
  });
});

test('nginx: locations, upstreams, includes, TLS files, comments and quotes', () => {
  const conf = [
    '# a comment { not a block',
    'upstream app_up { server app-blue:3000; server app-green:3000 backup; }',
    'server {',
    '  listen 443 ssl;',
    '  ssl_certificate "/etc/nginx/ssl/cert.pem";',
    '  ssl_certificate_key /etc/nginx/ssl/key.pem;',
    '  include /etc/nginx/extra/*.conf;',
    '  location /api/ { proxy_pass http://app_up; }',
    '  location = /ping { return 200 "ok;}"; }',
    '}',
  ].join('\n');
  const f = nginxFacts(parseNginx(conf), 'n.conf');
  assert.deepEqual(f.upstreams.get('app_up'), ['app-blue:3000', 'app-green:3000']);
  assert.deepEqual(f.locations, [
    { path: '/api/', pass: 'http://app_up', file: 'n.conf', line: 8 },
    { modifier: '=', path: '/ping', file: 'n.conf', line: 9 },
  ]);
  assert.deepEqual(f.includes, [{ pattern: '/etc/nginx/extra/*.conf', file: 'n.conf', line: 7 }]);
  assert.deepEqual(f.tls, { cert: '/etc/nginx/ssl/cert.pem', key: '/etc/nginx/ssl/key.pem' });
  assert.throws(() => parseNginx('server {'), /a "}" is missing/);
  assert.throws(() => parseNginx('}'), /unexpected "}"/);
});

test('durations as switchyard reads them; commands split as compose splits them', () => {
  assert.equal(toDuration('1m30s'), '90s');
  assert.equal(toDuration('1.5s'), '1.5s');
  assert.equal(toDuration('2m500ms'), '120500ms');
  assert.equal(toDuration('${X:-10s}'), '${X:-10s}');
  assert.deepEqual(shellWords(`sh -c 'echo "a b"' "c d" e\\ f`), ['sh', '-c', 'echo "a b"', 'c d', 'e f']);
});
