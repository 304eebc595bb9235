/**
 * Pushing a release image to a registry and pinning it by digest (src/runtime/docker/push.ts, the
 * swarm runtime's first step, issue 13), against the real engine and a real registry: Debian's
 * `docker-registry` (distribution 2.8) started by the test on a free 127.0.0.1 port (an engine
 * trusts a loopback registry without TLS). The image is a tiny one imported here (one file), so a
 * push takes milliseconds. Checked: the digest is the one the registry serves for the tag, and the
 * pinned reference pulls; a registry that is not there, and one in read-only mode, fail with
 * PUSH_FAILED and the registry's (or the engine's) own words.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { pushImage } from '../../src/runtime/docker/index.js';
import { SwitchyardError } from '../../src/errors.js';
import { cleanupApp, dockerClient, uniqueApp, waitFor } from '../helpers/docker.js';
import { freePort } from '../helpers/backends.js';
import { budget } from '../helpers/budget.js';

const APP = uniqueApp('syp');
const LOCAL = `${APP}-api:r1`;
let docker: Docker;
let dir: string;
const registries: ChildProcess[] = [];

/** A registry on 127.0.0.1:<free port>, storing under the test's folder; `readonly`: refuses writes. */
async function startRegistry(readonly = false): Promise<string> {
  const port = await freePort();
  const root = path.join(dir, `registry-${port}`);
  await fs.mkdir(root, { recursive: true });
  const config = path.join(root, 'config.yml');
  const maintenance = readonly ? '  maintenance: { readonly: { enabled: true } }\n' : '';
  await fs.writeFile(
    config,
    `version: 0.1\nlog: { level: warn }\nstorage:\n  filesystem: { rootdirectory: ${root}/data }\n${maintenance}` +
      `http:\n  addr: 127.0.0.1:${port}\n`,
  );
  const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  registries.push(child);
  const addr = `127.0.0.1:${port}`;
  await waitFor(
    `the registry on ${addr}`,
    async () => ((await fetch(`http://${addr}/v2/`).catch(() => undefined))?.status === 200 ? true : undefined),
    10_000,
  );
  return addr;
}

before(async () => {
  docker = await dockerClient();
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sy-push-'));
  // The smallest image there is: one file, imported (no base image, nothing pulled).
  await fs.writeFile(path.join(dir, 'hello.txt'), `built for ${APP}\n`);
  execFileSync('tar', ['-C', dir, '-cf', path.join(dir, 'rootfs.tar'), 'hello.txt']);
  execFileSync('docker', ['import', path.join(dir, 'rootfs.tar'), LOCAL], { stdio: 'pipe' });
}, budget(5_000));

after(async () => {
  for (const r of registries) r.kill('SIGTERM');
  await cleanupApp(docker, APP).catch(() => undefined);
  // Every image of the test's app, by id: pushed tags, and the pulled digest-only one (no tag).
  const ids = execFileSync('docker', ['images', '--no-trunc', '--format', '{{.Repository}} {{.ID}}'], {
    encoding: 'utf8',
  })
    .split('\n')
    .filter((l) => l.includes(`${APP}-`))
    .map((l) => l.split(' ')[1]!);
  for (const id of new Set(ids)) execFileSync('docker', ['image', 'rm', '-f', id], { stdio: 'pipe' });
  await fs.rm(dir, { recursive: true, force: true });
}, budget(5_000));

test('pushed and pinned by the digest the registry stores; the pinned reference pulls', budget(5_000), async () => {
  const registry = await startRegistry();
  const pushed = await pushImage(docker, LOCAL, registry);
  assert.equal(pushed.tagged, `${registry}/${APP}-api:r1`);
  assert.match(pushed.digest, /^sha256:[0-9a-f]{64}$/);
  assert.equal(pushed.pinned, `${registry}/${APP}-api@${pushed.digest}`);
  // The registry's own view of the tag: the same manifest digest.
  const res = await fetch(`http://${registry}/v2/${APP}-api/manifests/r1`, {
    method: 'HEAD',
    headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' },
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('docker-content-digest'), pushed.digest);
  // What a node does: pull by digest (here into the same engine, after dropping the tag).
  execFileSync('docker', ['image', 'rm', pushed.tagged], { stdio: 'pipe' });
  execFileSync('docker', ['pull', pushed.pinned], { stdio: 'pipe' });
  const pulled = JSON.parse(execFileSync('docker', ['image', 'inspect', pushed.pinned], { encoding: 'utf8' }))[0];
  assert.ok((pulled.RepoDigests as string[]).includes(pushed.pinned), JSON.stringify(pulled.RepoDigests));
});

test('no registry at that address: PUSH_FAILED naming the registry and what went wrong', budget(5_000), async () => {
  const nobody = `127.0.0.1:${await freePort()}`;
  const err = await pushImage(docker, LOCAL, nobody).then(
    () => assert.fail('the push succeeded'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof SwitchyardError, String(err));
  assert.equal(err.code, 'PUSH_FAILED');
  assert.equal(err.exitCode, 1);
  assert.match(err.message, new RegExp(`the registry ${nobody} refused ${nobody}/${APP}-api:r1: .*connection refused`));
  assert.match(err.hint ?? '', /curl http:\/\/127\.0\.0\.1:\d+\/v2\//);
});

test("a registry that refuses writes: PUSH_FAILED with the registry's words", budget(5_000), async () => {
  const registry = await startRegistry(true);
  const err = await pushImage(docker, LOCAL, registry).then(
    () => assert.fail('the push succeeded'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof SwitchyardError, String(err));
  assert.equal(err.code, 'PUSH_FAILED');
  assert.match(err.message, /405.*Method not allowed/i, err.message);
});
