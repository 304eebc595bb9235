/**
 * `proxy.metrics` in switchyard.yml (issue 14 part 3; src/config/proxy-schema.ts, metrics-rules.ts):
 * the metrics listener's address with its defaults, bad ports refused by the schema, ports that clash
 * (with either proxy) and the swarm edge, which cannot serve it, refused by the rules, each with what
 * to do instead. nginx on one machine serves it (its stub_status page).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config/load.ts';
import { configProblems, configProject } from '../helpers/config-project.ts';

// The bad cases break the raw YAML tree on purpose (wrong types, unknown keys): plain objects.
// biome-ignore lint/suspicious/noExplicitAny: see above
type Obj = Record<string, any>;

function base(): Obj {
  return {
    app: 'shop',
    proxy: {
      listen: { http: 8080, preview: 8081 },
      routes: [{ path: '/', service: 'web' }],
      metrics: { listen: { port: 9464 } },
    },
    services: { web: { command: 'node web.js', port: { blue: 5011, green: 5012 }, health: { path: '/' } } },
  };
}

const project = (cfg: Obj, files: Record<string, string> = {}): string =>
  configProject('sy-config-metrics-', cfg, files);

const problems = (cfg: Obj, files?: Record<string, string>): Promise<string[]> => configProblems(project(cfg, files));

test('proxy.metrics: off when absent; the listen host defaults to loopback; any address allowed', async () => {
  const off = base();
  delete off.proxy.metrics;
  assert.equal((await loadConfig({ cwd: project(off), env: {} })).config.proxy.metrics, undefined);
  const { config } = await loadConfig({ cwd: project(base()), env: {} });
  assert.deepEqual(config.proxy.metrics, { listen: { host: '127.0.0.1', port: 9464 } });
  const open = base();
  open.proxy.metrics.listen.host = '0.0.0.0';
  assert.deepEqual((await loadConfig({ cwd: project(open), env: {} })).config.proxy.metrics?.listen, {
    host: '0.0.0.0',
    port: 9464,
  });
});

test('proxy.metrics with nginx on one machine: mode host (process runtime), mode container (docker)', async () => {
  const host = base();
  host.proxy.kind = 'nginx';
  const { config } = await loadConfig({ cwd: project(host), env: {} });
  assert.equal(config.proxy.kind, 'nginx');
  assert.deepEqual(config.proxy.metrics, { listen: { host: '127.0.0.1', port: 9464 } });
  // The container shares the host's network (--network host): nginx binds the port itself.
  const container = base();
  container.runtime = 'docker';
  Object.assign(container.proxy, { kind: 'nginx', mode: 'container' });
  container.services = { web: { build: './web', port: 8080, health: { path: '/' } } };
  container.proxy.listen = { http: 80 };
  const docker = await loadConfig({ cwd: project(container, { 'web/Dockerfile': 'FROM scratch\n' }), env: {} });
  assert.equal(docker.config.proxy.kind === 'nginx' && docker.config.proxy.mode, 'container');
  assert.deepEqual(docker.config.proxy.metrics?.listen, { host: '127.0.0.1', port: 9464 });
});

const bad: { name: string; edit: (c: Obj) => void; path: string; match: RegExp; files?: Record<string, string> }[] = [
  { name: 'port 0', edit: (c) => (c.proxy.metrics.listen.port = 0), path: 'proxy.metrics.listen.port', match: /1/ },
  {
    name: 'port past 65535',
    edit: (c) => (c.proxy.metrics.listen.port = 70000),
    path: 'proxy.metrics.listen.port',
    match: /65535/,
  },
  {
    name: 'port not a number',
    edit: (c) => (c.proxy.metrics.listen.port = '9464x'),
    path: 'proxy.metrics.listen.port',
    match: /number/,
  },
  { name: 'no listen', edit: (c) => (c.proxy.metrics = {}), path: 'proxy.metrics.listen', match: /required|expected/ },
  {
    name: 'an unknown key',
    edit: (c) => (c.proxy.metrics.path = '/m'),
    path: 'proxy.metrics.path',
    match: /unknown key \(known keys: listen\)/,
  },
  {
    name: 'the public port',
    edit: (c) => (c.proxy.metrics.listen.port = 8080),
    path: 'proxy.metrics.listen.port',
    match: /same as listen\.http/,
  },
  {
    name: 'the preview port',
    edit: (c) => (c.proxy.metrics.listen.port = 8081),
    path: 'proxy.metrics.listen.port',
    match: /same as listen\.preview/,
  },
  {
    name: "a service's port",
    edit: (c) => (c.services.web.port.green = 9464),
    path: 'services.web.port.green',
    match: /same as the metrics port \(proxy\.metrics\.listen\.port\)/,
  },
  {
    name: 'nginx: the public port',
    edit: (c) => {
      c.proxy.kind = 'nginx';
      c.proxy.metrics.listen.port = 8080;
    },
    path: 'proxy.metrics.listen.port',
    match: /same as listen\.http/,
  },
  {
    name: 'nginx: the https port',
    edit: (c) => {
      Object.assign(c.proxy, { kind: 'nginx', tls: { cert: 'c.pem', key: 'k.pem' } });
      c.proxy.listen.https = 8443;
      c.proxy.metrics.listen.port = 8443;
    },
    files: { 'c.pem': 'x', 'k.pem': 'x' },
    path: 'proxy.metrics.listen.port',
    match: /same as listen\.https/,
  },
  {
    name: 'nginx: the preview port',
    edit: (c) => {
      c.proxy.kind = 'nginx';
      c.proxy.metrics.listen.port = 8081;
    },
    path: 'proxy.metrics.listen.port',
    match: /same as listen\.preview/,
  },
  {
    name: 'on swarm',
    edit: (c) => {
      c.runtime = 'swarm';
      c.swarm = { manager: 'unix:///run/sysw/n1.sock', registry: '10.77.0.1:5000' };
      c.services = { web: { build: './web', port: 8080, health: { path: '/' } } };
      c.proxy.listen = { http: 80 };
    },
    files: { 'web/Dockerfile': 'FROM scratch\n' },
    path: 'proxy.metrics',
    match: /swarm edge proxy/,
  },
  {
    name: 'nginx on swarm',
    edit: (c) => {
      c.runtime = 'swarm';
      c.swarm = { manager: 'unix:///run/sysw/n1.sock', registry: '10.77.0.1:5000' };
      c.services = { web: { build: './web', port: 8080, health: { path: '/' } } };
      c.proxy.kind = 'nginx';
      c.proxy.listen = { http: 80 };
    },
    files: { 'web/Dockerfile': 'FROM scratch\n' },
    path: 'proxy.metrics',
    match: /swarm edge proxy.*remove proxy\.metrics with runtime: swarm/,
  },
];

for (const c of bad) {
  test(`proxy.metrics refused: ${c.name}`, async () => {
    const cfg = base();
    c.edit(cfg);
    const out = await problems(cfg, c.files);
    const mine = out.filter((p) => p.startsWith(`${c.path}: `) || p.startsWith(`${c.path} `));
    assert.ok(
      mine.some((p) => c.match.test(p)),
      `expected ${c.path} matching ${c.match}, got:\n${out.join('\n')}`,
    );
  });
}
