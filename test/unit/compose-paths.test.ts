// Paths when switchyard.yml is written elsewhere than the compose project (convertCompose's outDir):
// compose reads every relative path from its project folder (that of the first file); the written
// file names each relative to its own folder, and loads there with every build context, env_file,
// bind mount and TLS file found. The notes name files relative to `dir`.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { convertCompose } from '../../src/compose/index.ts';
import { loadConfig } from '../../src/config/load.ts';

const root = mkdtempSync(path.join(tmpdir(), 'sy-compose-paths-'));
after(() => rmSync(root, { recursive: true, force: true }));

const COMPOSE = `services:
  web:
    build: { context: ./web, dockerfile: Dockerfile.prod }
    env_file: web.env
    expose: ["3000"]
    volumes:
      - ./data:/data
      - ../shared:/shared:ro
      - { type: bind, source: ./logs, target: /logs }
      - named:/named
      - /srv/abs:/abs
  proxy:
    image: nginx:1.27
    ports: ["80:80", "443:443"]
    volumes:
      - ./nginx/nginx.conf:/etc/nginx/nginx.conf:ro
      - ./certs:/etc/nginx/certs:ro
volumes:
  named:
`;
const NGINX = `events {}
http {
  server {
    listen 443 ssl;
    ssl_certificate /etc/nginx/certs/site.crt;
    ssl_certificate_key /etc/nginx/certs/site.key;
    location / { proxy_pass http://web:3000; }
  }
}
`;

const files: Record<string, string> = {
  'compose/docker-compose.yml': COMPOSE,
  'compose/nginx/nginx.conf': NGINX,
  'compose/web/Dockerfile.prod': 'FROM node:22\n',
  'compose/web.env': 'A=1\n',
  'compose/.env': 'FROM_DOTENV=1\n',
  'compose/certs/site.crt': 'crt\n',
  'compose/certs/site.key': 'key\n',
  'compose/data/.keep': '',
  'compose/logs/.keep': '',
  'shared/.keep': '',
};
for (const [name, text] of Object.entries(files)) {
  mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
  writeFileSync(path.join(root, name), text);
}
mkdirSync(path.join(root, 'compose', 'deploy'));

interface Out {
  env_file?: string;
  app: string;
  services: { web: { build: { context: string; dockerfile: string }; env_file: string; volumes: string[] } };
  proxy: { tls: { cert: string; key: string } };
}

test('outDir: paths are read from the project folder and written from the folder of switchyard.yml', async () => {
  // As the CLI runs `switchyard -c deploy/sy.yml init --from-compose docker-compose.yml`.
  const deploy = path.join(root, 'compose', 'deploy');
  const r = await convertCompose({ dir: deploy, files: ['../docker-compose.yml'], env: {}, outDir: deploy });
  const c = parse(r.text) as Out;
  assert.equal(c.app, 'compose', "compose's project name: its folder's");
  assert.equal(c.env_file, '../.env');
  assert.deepEqual(c.services.web.build, { context: '../web', dockerfile: 'Dockerfile.prod' });
  assert.equal(c.services.web.env_file, '../web.env');
  assert.deepEqual(c.services.web.volumes, [
    '../data:/data',
    '../../shared:/shared:ro',
    '../logs:/logs',
    'named:/named',
    '/srv/abs:/abs',
  ]);
  assert.deepEqual(c.proxy.tls, { cert: '../certs/site.crt', key: '../certs/site.key' });
  // The notes name files relative to dir (the CLI shows them from where it runs).
  const named = new Set([...r.decisions, ...r.unsupported].map((n) => n.file));
  assert.deepEqual([...named].sort(), ['../.env', '../docker-compose.yml', '../nginx/nginx.conf']);
  assert.deepEqual(r.files, ['../docker-compose.yml']);
  // Loaded as every command loads it: each file and folder it names is there.
  writeFileSync(path.join(deploy, 'sy.yml'), r.text);
  const loaded = await loadConfig({ cwd: root, file: 'compose/deploy/sy.yml', env: {} });
  assert.deepEqual(Object.keys(loaded.config.services), ['web']);
});

test('without outDir the paths are written as compose wrote them, from the project folder', async () => {
  const r = await convertCompose({ dir: root, files: ['compose/docker-compose.yml'], env: {} });
  const c = parse(r.text) as Out;
  assert.equal(c.env_file, '.env');
  assert.deepEqual(c.services.web.build, { context: './web', dockerfile: 'Dockerfile.prod' });
  assert.equal(c.services.web.env_file, 'web.env');
  assert.deepEqual(c.services.web.volumes.slice(0, 3), ['./data:/data', '../shared:/shared:ro', './logs:/logs']);
  assert.deepEqual(c.proxy.tls, { cert: './certs/site.crt', key: './certs/site.key' });
  assert.ok(r.decisions.some((n) => n.file === 'compose/nginx/nginx.conf'));
  writeFileSync(path.join(root, 'compose', 'switchyard.yml'), r.text);
  await loadConfig({ cwd: path.join(root, 'compose'), env: {} });
});

test('outDir below another folder: bind mounts keep a leading ./ or ../', async () => {
  const out = path.join(root, 'elsewhere');
  const r = await convertCompose({ dir: path.join(root, 'compose'), env: {}, outDir: out });
  const c = parse(r.text) as Out;
  assert.deepEqual(c.services.web.build.context, '../compose/web');
  assert.deepEqual(c.services.web.volumes.slice(0, 3), [
    '../compose/data:/data',
    '../shared:/shared:ro',
    '../compose/logs:/logs',
  ]);
  const inside = await convertCompose({ dir: root, files: ['compose/docker-compose.yml'], env: {}, outDir: root });
  const d = parse(inside.text) as Out;
  assert.deepEqual(d.services.web.volumes.slice(0, 3), [
    './compose/data:/data',
    './shared:/shared:ro',
    './compose/logs:/logs',
  ]);
  assert.equal(d.services.web.build.context, './compose/web');
  assert.equal(d.services.web.env_file, 'compose/web.env');
});
