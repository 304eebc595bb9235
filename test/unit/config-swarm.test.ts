/**
 * `runtime: swarm` in switchyard.yml (issue 13 part 1; src/config/swarm-schema.ts, swarm-rules.ts):
 * the `swarm:` section (manager, tls, registry, constraints, edge), tied to that runtime; services
 * held to the Docker rules; what the swarm runtime cannot do yet refused with what to do instead.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config/load.ts';
import { configProblems, configProject } from '../helpers/config-project.ts';
import { managerAddress } from '../../src/config/swarm-schema.ts';

// The bad cases break the raw YAML tree on purpose (wrong types, unknown keys): plain objects.
// biome-ignore lint/suspicious/noExplicitAny: see above
type Obj = Record<string, any>;

/** A valid swarm config; each bad case breaks one thing in a fresh copy. */
function base(): Obj {
  return {
    app: 'shop',
    runtime: 'swarm',
    swarm: {
      manager: 'unix:///run/sysw/n1.sock',
      registry: '10.77.0.1:5000',
      constraints: ['node.role==worker'],
    },
    proxy: {
      listen: { http: 8080 },
      routes: [
        { path: '/api', service: 'api' },
        { path: '/', service: 'web' },
      ],
    },
    services: {
      api: { build: './api', port: 3000, instances: 2, health: { path: '/api/health' } },
      web: { image: 'shop-web:latest', port: 8080, health: { path: '/' } },
    },
  };
}

const FILES = { 'api/Dockerfile': 'FROM scratch\n' };

const project = (cfg: Obj, files: Record<string, string> = FILES): string =>
  configProject('sy-config-swarm-', cfg, files);

const problems = (cfg: Obj, files?: Record<string, string>): Promise<string[]> => configProblems(project(cfg, files));

test('a valid swarm config: the section with its defaults, services read as for docker', async () => {
  const { config } = await loadConfig({ cwd: project(base()), env: {} });
  assert.equal(config.runtime, 'swarm');
  assert.deepEqual(config.swarm, {
    manager: 'unix:///run/sysw/n1.sock',
    registry: '10.77.0.1:5000',
    constraints: ['node.role==worker'],
    edge: { constraints: [], base: 'node:20-bookworm-slim' },
  });
  assert.equal(config.services.api?.containerPort, 3000);
  assert.equal(config.services.api?.instances, 2);
  assert.deepEqual(config.services.api?.dockerBuild, { context: './api', args: {} });
  assert.equal(config.services.web?.image, 'shop-web:latest');
});

test('every manager form, the default manager, tls files, edge constraints and ${VAR} in the section', async () => {
  const forms = ['tcp://manager.example:2376', 'ssh://deploy@10.0.0.5', 'ssh://deploy@manager-1:2222', undefined];
  for (const manager of forms) {
    const cfg = base();
    if (manager === undefined) delete cfg.swarm.manager;
    else cfg.swarm.manager = manager;
    cfg.swarm.edge = { constraints: ['node.labels.edge == true', 'engine.labels.zone!=b'] };
    const { config } = await loadConfig({ cwd: project(cfg), env: {} });
    assert.equal(config.swarm?.manager, manager);
    assert.deepEqual(config.swarm?.edge.constraints, ['node.labels.edge == true', 'engine.labels.zone!=b']);
  }
  const cfg = base();
  cfg.swarm = {
    manager: '${SWARM_MANAGER}',
    registry: '${REGISTRY:-registry.internal:5000}',
    tls: { ca: 'certs/ca.pem', cert: 'certs/cert.pem', key: 'certs/key.pem' },
  };
  const files = { ...FILES, 'certs/ca.pem': 'x', 'certs/cert.pem': 'x', 'certs/key.pem': 'x' };
  const dir = project(cfg, files);
  const { config } = await loadConfig({ cwd: dir, env: { SWARM_MANAGER: 'tcp://10.0.0.5:2376' } });
  assert.equal(config.swarm?.manager, 'tcp://10.0.0.5:2376');
  assert.equal(config.swarm?.registry, 'registry.internal:5000');
  assert.deepEqual(config.swarm?.tls, { ca: 'certs/ca.pem', cert: 'certs/cert.pem', key: 'certs/key.pem' });
  assert.deepEqual(config.swarm?.constraints, []);
});

test('managerAddress reads the three forms and refuses the rest', () => {
  assert.deepEqual(managerAddress('unix:///run/sysw/n1.sock'), { kind: 'unix', path: '/run/sysw/n1.sock' });
  assert.deepEqual(managerAddress('tcp://10.0.0.5:2376'), { kind: 'tcp', host: '10.0.0.5', port: 2376 });
  assert.deepEqual(managerAddress('ssh://me@host'), { kind: 'ssh', user: 'me', host: 'host' });
  assert.deepEqual(managerAddress('ssh://me@host:2222'), { kind: 'ssh', user: 'me', host: 'host', port: 2222 });
  for (const bad of [
    'unix://run/docker.sock',
    'tcp://10.0.0.5',
    'tcp://10.0.0.5:0',
    'tcp://10.0.0.5:70000',
    'ssh://host',
    'http://10.0.0.5:2375',
    '/var/run/docker.sock',
    'tcp://10.0.0.5:2375/v1.41',
  ])
    assert.equal(managerAddress(bad), undefined, bad);
});

interface BadCase {
  name: string;
  edit: (c: Obj) => void;
  files?: Record<string, string>;
  path: string;
  match: RegExp;
}

const bad: BadCase[] = [
  {
    name: 'runtime swarm without the swarm section',
    edit: (c) => delete c.swarm,
    path: 'swarm',
    match: /required for runtime: swarm: at least the registry/,
  },
  {
    name: 'the swarm section with runtime docker',
    edit: (c) => (c.runtime = 'docker'),
    path: 'swarm',
    match: /only used by runtime: swarm \(runtime is docker\): set runtime: swarm, or remove the section/,
  },
  {
    name: 'the swarm section with the default runtime (process)',
    edit: (c) => {
      delete c.runtime;
      c.services = { api: { command: 'node api.js', health: { path: '/' } } };
      c.proxy.routes = [{ path: '/', service: 'api' }];
    },
    path: 'swarm',
    match: /only used by runtime: swarm \(runtime is process\)/,
  },
  {
    name: 'no registry',
    edit: (c) => delete c.swarm.registry,
    path: 'swarm.registry',
    match: /required/,
  },
  {
    name: 'a registry given as a URL',
    edit: (c) => (c.swarm.registry = 'https://10.77.0.1:5000'),
    path: 'swarm.registry',
    match: /expected host\[:port\], e\.g\. 10\.77\.0\.1:5000 \(no scheme: .*\) \(got "https:/,
  },
  {
    name: 'a registry with a path',
    edit: (c) => (c.swarm.registry = '10.77.0.1:5000/team'),
    path: 'swarm.registry',
    match: /expected host\[:port\].*\(no path: /,
  },
  {
    name: 'a registry with credentials',
    edit: (c) => (c.swarm.registry = 'me:secret@registry'),
    path: 'swarm.registry',
    match: /no credentials: log the builder in with `docker login` instead/,
  },
  {
    name: 'a registry port out of range',
    edit: (c) => (c.swarm.registry = 'registry:70000'),
    path: 'swarm.registry',
    match: /the port must be 1-65535/,
  },
  {
    name: 'a registry that is no host name',
    edit: (c) => (c.swarm.registry = 'my registry'),
    path: 'swarm.registry',
    match: /expected host\[:port\].*a host name or address, and optionally a port/,
  },
  {
    name: 'a manager of no known form',
    edit: (c) => (c.swarm.manager = 'http://10.0.0.5:2375'),
    path: 'swarm.manager',
    match: /expected unix:\/\/\/path\/to\/docker\.sock, tcp:\/\/host:port or ssh:\/\/user@host\[:port\]/,
  },
  {
    name: 'a tcp manager without a port',
    edit: (c) => (c.swarm.manager = 'tcp://10.0.0.5'),
    path: 'swarm.manager',
    match: /expected unix:/,
  },
  {
    name: 'tls with a unix manager',
    edit: (c) => (c.swarm.tls = { ca: 'ca.pem', cert: 'cert.pem', key: 'key.pem' }),
    files: { ...FILES, 'ca.pem': 'x', 'cert.pem': 'x', 'key.pem': 'x' },
    path: 'swarm.tls',
    match: /tls is for a tcp:\/\/ manager, not unix:\/\/ \(remove tls, or give manager: tcp:\/\/host:port\)/,
  },
  {
    name: 'tls with an ssh manager',
    edit: (c) => {
      c.swarm.manager = 'ssh://deploy@manager';
      c.swarm.tls = { ca: 'ca.pem', cert: 'cert.pem', key: 'key.pem' };
    },
    path: 'swarm.tls',
    match: /tls is for a tcp:\/\/ manager, not ssh:\/\//,
  },
  {
    name: 'tls without a manager',
    edit: (c) => {
      delete c.swarm.manager;
      c.swarm.tls = { ca: 'ca.pem', cert: 'cert.pem', key: 'key.pem' };
    },
    path: 'swarm.tls',
    match: /tls needs the manager given as tcp:\/\/host:port/,
  },
  {
    name: 'tls without its key',
    edit: (c) => {
      c.swarm.manager = 'tcp://10.0.0.5:2376';
      c.swarm.tls = { ca: 'ca.pem', cert: 'cert.pem' };
    },
    path: 'swarm.tls.key',
    match: /required/,
  },
  {
    name: 'a tls file that is not there',
    edit: (c) => {
      c.swarm.manager = 'tcp://10.0.0.5:2376';
      c.swarm.tls = { ca: 'ca.pem', cert: 'cert.pem', key: 'certs/nope.pem' };
    },
    files: { ...FILES, 'ca.pem': 'x', 'cert.pem': 'x' },
    path: 'swarm.tls.key',
    match: /file not found \(got "certs\/nope\.pem"\)/,
  },
  {
    name: 'a constraint without == or !=',
    edit: (c) => (c.swarm.constraints = ['node.role==worker', 'node.role=worker']),
    path: 'swarm.constraints.1',
    match: /expected a placement constraint such as "node\.role==worker"/,
  },
  {
    name: 'a constraint on no node or engine attribute',
    edit: (c) => (c.swarm.constraints = ['worker']),
    path: 'swarm.constraints.0',
    match: /expected a placement constraint/,
  },
  {
    name: 'an edge constraint without a value',
    edit: (c) => (c.swarm.edge = { constraints: ['node.labels.edge=='] }),
    path: 'swarm.edge.constraints.0',
    match: /expected a placement constraint/,
  },
  {
    name: 'an unknown key in the swarm section',
    edit: (c) => (c.swarm.replicas = 3),
    path: 'swarm.replicas',
    match: /unknown key \(known keys: manager, tls, registry, constraints, edge\)/,
  },
  {
    name: 'a shared service on swarm without its node',
    edit: (c) => (c.shared = { db: { image: 'postgres:16' } }),
    path: 'shared.db.node',
    match: /required for runtime: swarm: the node the service runs on, with its data/,
  },
  {
    name: 'a shared service on swarm with published ports',
    edit: (c) => (c.shared = { db: { image: 'postgres:16', node: 'n1', ports: ['5432:5432'] } }),
    path: 'shared.db.ports',
    match: /not on swarm: the colours reach it by name on the overlay network/,
  },
  {
    name: 'a shared service on swarm with a host path',
    edit: (c) => (c.shared = { db: { image: 'postgres:16', node: 'n1', volumes: ['./data:/var/lib/pg'] } }),
    path: 'shared.db.volumes',
    match: /a host path is not on swarm/,
  },
  {
    name: 'backup.container naming no shared service on swarm',
    edit: (c) => (c.backup = { kind: 'postgres', container: 'db' }),
    path: 'backup.container',
    match: /no shared service named db/,
  },
  {
    name: 'nginx with https on swarm',
    edit: (c) =>
      Object.assign(c.proxy, {
        kind: 'nginx',
        listen: { ...c.proxy.listen, https: 8443 },
        tls: { cert: 'c.pem', key: 'k.pem' },
      }),
    path: 'proxy.tls',
    match: /TLS is not yet on swarm \(the certificate would have to be on every edge node\)/,
  },
  {
    name: 'volumes on a swarm service',
    edit: (c) => (c.services.api.volumes = ['data:/var/lib/data']),
    path: 'services.api.volumes',
    match: /volumes are not yet on swarm: a named volume is per node/,
  },
  {
    name: 'instances 0 on swarm',
    edit: (c) => (c.services.api.instances = 0),
    path: 'services.api.instances',
    match: /at least 1 \(got 0\)/,
  },
  {
    name: 'instances 17 on swarm',
    edit: (c) => (c.services.api.instances = 17),
    path: 'services.api.instances',
    match: /at most 16 \(got 17\)/,
  },
  {
    name: 'a swarm service with neither image nor build',
    edit: (c) => delete c.services.web.image,
    path: 'services.web',
    match: /needs "image" \(a local tag\) or "build" \(a context folder\) for runtime: swarm/,
  },
  {
    name: 'a swarm service with a port per colour',
    edit: (c) => (c.services.web.port = { blue: 5001, green: 5002 }),
    path: 'services.web.port',
    match: /for runtime: swarm, port is the container port \(a number\); the edge proxy reaches each task/,
  },
  {
    name: 'a swarm service without its container port',
    edit: (c) => delete c.services.web.port,
    path: 'services.web.port',
    match: /required for runtime: swarm: the port the service listens on inside the container/,
  },
  {
    name: 'a swarm service with a build command',
    edit: (c) => (c.services.api.build = ['make', 'all']),
    path: 'services.api.build',
    match: /for runtime: swarm, build is a context folder/,
  },
  {
    name: 'a swarm service with shell',
    edit: (c) => (c.services.web.shell = true),
    path: 'services.web.shell',
    match: /only used by runtime: process \(for swarm, write command: \["sh", "-c", "\.\.\."\]\)/,
  },
  {
    name: 'a swarm build context without its Dockerfile',
    edit: () => undefined,
    files: { 'api/other': 'x' },
    path: 'services.api.build.dockerfile',
    match: /file not found \(relative to the build context \.\/api\)/,
  },
];

for (const c of bad) {
  test(`bad swarm config: ${c.name}`, async () => {
    const cfg = base();
    c.edit(cfg);
    const details = await problems(cfg, c.files);
    const line = details.find((d) => d.startsWith(`${c.path}:`));
    assert.ok(line, `no detail for ${c.path} in:\n${details.join('\n')}`);
    assert.match(line, c.match);
  });
}

test('nginx in a container on swarm is one problem (proxy.mode), not also the docker-only mode', async () => {
  const cfg = base();
  Object.assign(cfg.proxy, { kind: 'nginx', mode: 'container' });
  const details = await problems(cfg);
  assert.deepEqual(
    details.map((d) => d.split(':')[0]),
    ['proxy.mode'],
  );
  assert.match(details[0]!, /on swarm nginx runs inside the edge service on every edge node/);
});

test('nginx on swarm (mode host, the default): valid', async () => {
  const cfg = base();
  Object.assign(cfg.proxy, { kind: 'nginx' });
  const { config } = await loadConfig({ cwd: project(cfg), env: {} });
  assert.equal(config.proxy.kind, 'nginx');
});

test('a shared service pinned to a node, with a named volume, and backup.container on swarm: valid', async () => {
  const cfg = base();
  cfg.shared = { db: { image: 'postgres:16', node: 'sysw-n2', volumes: ['pgdata:/var/lib/postgresql/data'] } };
  cfg.backup = { kind: 'postgres', container: 'db' };
  const { config } = await loadConfig({ cwd: project(cfg), env: {} });
  assert.equal(config.shared.db?.node, 'sysw-n2');
});

test('a migrate hook inside a service on swarm (a one-off task): valid; an unknown service is not', async () => {
  const cfg = base();
  cfg.deploy = { hooks: { migrate: { run: ['npm', 'run', 'migrate'], service: 'api', timeout: '2m' } } };
  const { config } = await loadConfig({ cwd: project(cfg), env: {} });
  assert.equal(config.deploy.hooks.migrate?.service, 'api');
  assert.equal(config.deploy.hooks.migrate?.timeout, 120_000);
  cfg.deploy.hooks.migrate.service = 'worker';
  const details = await problems(cfg);
  assert.deepEqual(
    details.filter((d) => d.startsWith('deploy.hooks.migrate')),
    ['deploy.hooks.migrate.service: no service named worker (services: api, web) (got "worker")'],
    details.join('\n'),
  );
});

test('shared.<name>.node on the docker runtime is refused', async () => {
  const cfg = base();
  cfg.runtime = 'docker';
  delete cfg.swarm;
  cfg.shared = { db: { image: 'postgres:16', node: 'n1' } };
  const details = await problems(cfg);
  assert.ok(
    details.includes('shared.db.node: only used by runtime: swarm (the node it is pinned to)'),
    details.join('\n'),
  );
});

test('the docker-only keys on the process runtime now name swarm where it takes them', async () => {
  const cfg = base();
  cfg.runtime = 'process';
  delete cfg.swarm;
  cfg.services = {
    api: { command: 'node api.js', image: 'x:1', volumes: ['d:/d'], health: { path: '/' } },
  };
  cfg.proxy.routes = [{ path: '/', service: 'api' }];
  const details = await problems(cfg);
  assert.ok(details.includes('services.api.image: only used by runtime: docker or swarm'), details.join('\n'));
  assert.ok(details.includes('services.api.volumes: only used by runtime: docker'), details.join('\n'));
});

test('an unknown runtime lists swarm among the three', async () => {
  const cfg = base();
  cfg.runtime = 'kubernetes';
  const details = await problems(cfg);
  assert.ok(
    details.some((d) => /^runtime: expected one of "process", "docker", "swarm" \(got "kubernetes"\)/.test(d)),
    details.join('\n'),
  );
});
