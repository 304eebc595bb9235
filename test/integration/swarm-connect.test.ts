/**
 * `runtime: swarm` reached from the config (src/runtime/swarm/connect.ts, issue 13 part 1), on the
 * real three-node test swarm (scripts/swarm-infra.sh; manager socket /run/sysw/n1.sock, registry
 * 10.77.0.1:5000): createRuntime on a swarm config gives the swarm runtime, which connects on first
 * use and reports a colour nothing runs as not started; a manager that does not answer (no socket,
 * a tcp port nobody listens on) is DOCKER_UNREACHABLE naming its address, with a hint on
 * swarm.manager; a worker's engine is refused as no manager; a missing TLS file is CONFIG_INVALID
 * naming it, when the runtime is made; DOCKER_HOST in the environment never redirects a configured
 * manager. Fails, never skips, when the swarm is not up. Nothing is created on the swarm; the
 * project folder is removed.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { configSchema, type ConfigInput } from '../../src/config/schema.js';
import { SwitchyardError } from '../../src/errors.js';
import { createRuntime, type RuntimeContext } from '../../src/runtime/index.js';
import { connectManager } from '../../src/runtime/swarm/connect.js';
import { projectPaths } from '../../src/state/paths.js';
import { freePort } from '../helpers/backends.js';
import { budget } from '../helpers/budget.js';
import { uniqueApp } from '../helpers/docker.js';

const MANAGER = 'unix:///run/sysw/n1.sock';
const WORKER = 'unix:///run/sysw/n2.sock';
const REGISTRY = '10.77.0.1:5000';
const APP = uniqueApp('sysc');
let dir: string;

function ctxFor(swarm: NonNullable<ConfigInput['swarm']>): RuntimeContext {
  const config = configSchema.parse({
    app: APP,
    runtime: 'swarm',
    swarm,
    proxy: { listen: { http: 1 }, routes: [{ path: '/', service: 'api' }] },
    services: { api: { image: 'nothing-pulled:here', port: 8080, instances: 2, health: { path: '/' } } },
  });
  return { config, paths: projectPaths(dir), serviceEnv: { api: {} } };
}

/** The SwitchyardError `p` rejects with. */
async function failure(p: Promise<unknown>): Promise<SwitchyardError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof SwitchyardError, `expected a SwitchyardError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a failure');
}

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sy-swarm-connect-'));
  await connectManager(
    { manager: MANAGER, registry: REGISTRY, constraints: [], edge: { constraints: [], base: 'node:20-bookworm-slim' } },
    dir,
  ).catch((e: unknown) =>
    assert.fail(`the test swarm's manager does not answer at ${MANAGER}: run scripts/swarm-infra.sh up (${e})`),
  );
}, budget(1_000));

after(async () => {
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

describe('runtime: swarm from the config', () => {
  it('createRuntime gives the swarm runtime; a colour nothing runs is not started', budget(1_000), async () => {
    const rt = createRuntime(ctxFor({ manager: MANAGER, registry: REGISTRY, constraints: ['node.role==worker'] }));
    assert.equal(rt.kind, 'swarm');
    const rows = await rt.status('blue');
    assert.deepEqual(
      rows.map((r) => [r.service, r.running, r.detail]),
      [
        ['api', false, 'no task (blue is not started)'],
        ['api.2', false, 'no task (blue is not started)'],
      ],
    );
    assert.equal(await rt.current('green'), undefined);
  });

  it('a manager socket that is not there: DOCKER_UNREACHABLE naming it', budget(1_000), async () => {
    const nope = 'unix:///run/sysw/nope.sock';
    const rt = createRuntime(ctxFor({ manager: nope, registry: REGISTRY }));
    const err = await failure(rt.status('blue'));
    assert.equal(err.code, 'DOCKER_UNREACHABLE');
    assert.equal(err.message, `cannot reach the swarm manager at ${nope}: no such socket`);
    assert.match(
      err.hint ?? '',
      /check swarm\.manager in switchyard\.yml.*`docker -H unix:\/\/\/run\/sysw\/nope\.sock/,
    );
    // Not kept: the next call tries again (and fails the same way).
    assert.equal((await failure(rt.current('blue'))).code, 'DOCKER_UNREACHABLE');
  });

  it('a tcp manager nobody listens on: DOCKER_UNREACHABLE naming it', budget(1_000), async () => {
    const addr = `tcp://127.0.0.1:${await freePort()}`;
    const err = await failure(createRuntime(ctxFor({ manager: addr, registry: REGISTRY })).status('blue'));
    assert.equal(err.code, 'DOCKER_UNREACHABLE');
    assert.match(err.message, new RegExp(`^cannot reach the swarm manager at ${addr}: .*ECONNREFUSED`));
    assert.match(err.hint ?? '', /swarm\.manager/);
  });

  it("a worker's engine is no manager: refused as such", budget(1_000), async () => {
    const err = await failure(createRuntime(ctxFor({ manager: WORKER, registry: REGISTRY })).status('blue'));
    assert.equal(err.code, 'DOCKER_UNREACHABLE');
    assert.equal(err.message, `no swarm manager at ${WORKER}: the engine there is a swarm worker, not a manager`);
    assert.match(err.hint ?? '', /point swarm\.manager at a manager node/);
  });

  it('a tls file that is missing: CONFIG_INVALID naming it', budget(1_000), async () => {
    await fs.writeFile(path.join(dir, 'ca.pem'), 'x');
    await fs.writeFile(path.join(dir, 'cert.pem'), 'x');
    const swarm = {
      manager: `tcp://127.0.0.1:${await freePort()}`,
      registry: REGISTRY,
      tls: { ca: 'ca.pem', cert: 'cert.pem', key: 'certs/key.pem' },
    };
    // The client is made with the files in it, so at once (the config loader checked they are there).
    assert.throws(
      () => createRuntime(ctxFor(swarm)),
      (e: unknown) =>
        e instanceof SwitchyardError &&
        e.code === 'CONFIG_INVALID' &&
        e.message === `swarm.tls.key: cannot read ${path.join(dir, 'certs', 'key.pem')}: file not found`,
    );
  });

  it('DOCKER_HOST in the environment does not redirect a configured manager', budget(1_000), async () => {
    const saved = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = `tcp://127.0.0.1:${await freePort()}`;
    try {
      const swarm = {
        manager: MANAGER,
        registry: REGISTRY,
        constraints: [],
        edge: { constraints: [], base: 'node:20-bookworm-slim' },
      };
      const docker = await connectManager(swarm, dir);
      assert.equal(typeof (await docker.info()).Swarm?.NodeID, 'string');
    } finally {
      if (saved === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = saved;
    }
  });
});
