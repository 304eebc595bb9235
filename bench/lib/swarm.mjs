// The test swarm of scripts/swarm-infra.sh for benchmarks (three Docker engines in network
// namespaces on one machine, 10.77.0.11-13, the registry on 10.77.0.1:5000), and the cleanup of
// an app from it: the same steps as cleanupSwarmApp in test/helpers/swarm.ts (the benches run
// plain node and cannot import TypeScript). Talks only to the nodes' sockets and the root engine.
import { execFileSync, spawnSync } from 'node:child_process';
import Docker from 'dockerode';
import { root } from './options.mjs';

export const SOCK = (n) => `/run/sysw/n${n}.sock`;
export const NODES = [1, 2, 3];
export const NODE_ADDR = (n) => `10.77.0.1${n}`;
export const REGISTRY = '10.77.0.1:5000';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const lines = (s) => s.split('\n').filter(Boolean);

/** `bash scripts/swarm-infra.sh status`: undefined when the swarm is complete, else why not. */
export function swarmDown() {
  const r = spawnSync('bash', ['scripts/swarm-infra.sh', 'status'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  return r.status === 0 ? undefined : (r.stderr || r.stdout || r.error?.message || `exit ${r.status}`).trim();
}

/** docker against node n; '' when it refuses and `quiet`. */
export function onNode(n, args, quiet = false) {
  try {
    return execFileSync('docker', ['-H', `unix://${SOCK(n)}`, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 30_000,
    });
  } catch (e) {
    if (quiet) return '';
    throw e;
  }
}

const ignore = () => undefined;

/**
 * Removes everything of `app` from the root engine (where switchyard builds, and where the docker
 * runtime runs): containers, networks, volumes by label; images by an `<app>-` tag, or by id when
 * they carry the app's label (an id only that app's build can have).
 */
export async function cleanupDockerApp(app) {
  const d = new Docker();
  const label = { label: [`switchyard.app=${app}`] };
  for (const c of await d.listContainers({ all: true, filters: label }))
    await d.getContainer(c.Id).remove({ force: true, v: true }).catch(ignore);
  for (const n of await d.listNetworks({ filters: label })) await d.getNetwork(n.Id).remove().catch(ignore);
  for (const v of (await d.listVolumes({ filters: label })).Volumes ?? [])
    await d.getVolume(v.Name).remove().catch(ignore);
  for (const img of await d.listImages({ all: true })) {
    const tags = (img.RepoTags ?? []).filter((t) => t.startsWith(`${app}-`) || t.startsWith(`${REGISTRY}/${app}-`));
    for (const t of tags) await d.getImage(t).remove().catch(ignore);
    if (img.Labels?.['switchyard.app'] === app) await d.getImage(img.Id).remove({ force: true }).catch(ignore);
  }
}

/**
 * Removes every trace of `app` from the swarm and its nodes: services, the manager's containers
 * (then waits for the tasks to leave every node), secrets, the overlay network `<app>-net`, the
 * `<app>_edge_state` volume and the images pulled from the registry on each node (by `repo@digest`,
 * never by id: one switchyard build gives every app's edge image the same id), and the builder's
 * images of the app (cleanupDockerApp, which includes the `10.77.0.1:5000/<app>-...` tags).
 */
export async function cleanupSwarmApp(app) {
  const m = new Docker({ socketPath: SOCK(1) });
  const label = { label: [`switchyard.app=${app}`] };
  for (const s of await m.listServices({ filters: label })) await m.getService(s.ID).remove().catch(ignore);
  for (const c of await m.listContainers({ all: true, filters: label }))
    await m.getContainer(c.Id).remove({ force: true }).catch(ignore);
  // Tasks leave the nodes a moment after their services go; the network and volumes then can.
  for (let i = 0; i < 60; i++) {
    const left = await m.listTasks({ filters: label }).catch(() => []);
    const any = NODES.some((n) => onNode(n, ['ps', '-aq', '--filter', `label=switchyard.app=${app}`], true).trim());
    if (left.length === 0 && !any) break;
    await sleep(500);
  }
  for (const s of await m.listSecrets({ filters: label })) await m.getSecret(s.ID).remove().catch(ignore);
  for (let i = 0; i < 30; i++) {
    const gone = await m
      .getNetwork(`${app}-net`)
      .remove()
      .then(
        () => true,
        (e) => e.statusCode === 404,
      );
    if (gone) break;
    await sleep(500);
  }
  for (const n of NODES) {
    onNode(n, ['volume', 'rm', '-f', `${app}_edge_state`], true);
    const refs = lines(onNode(n, ['images', '--digests', '--format', '{{.Repository}}@{{.Digest}}'], true)).filter(
      (l) => l.startsWith(`${REGISTRY}/${app}-`) && !l.endsWith('@<none>'),
    );
    for (const ref of new Set(refs)) onNode(n, ['image', 'rm', ref], true);
  }
  await cleanupDockerApp(app);
}

/** What is left of `app` on the swarm, its nodes and the root engine (empty when nothing). */
export function leftovers(app) {
  const left = [];
  const m = (args) => lines(onNode(1, args, true));
  for (const s of m(['service', 'ls', '--format', '{{.Name}}'])) if (s.startsWith(`${app}_`)) left.push(`service ${s}`);
  for (const s of m(['secret', 'ls', '--format', '{{.Name}}'])) if (s.startsWith(`${app}_`)) left.push(`secret ${s}`);
  for (const s of m(['network', 'ls', '--format', '{{.Name}}'])) if (s === `${app}-net`) left.push(`network ${s}`);
  for (const n of NODES) {
    for (const c of lines(onNode(n, ['ps', '-aq', '--filter', `label=switchyard.app=${app}`], true)))
      left.push(`container ${c} on n${n}`);
    for (const v of lines(onNode(n, ['volume', 'ls', '-q'], true)))
      if (v.startsWith(`${app}_`)) left.push(`volume ${v} on n${n}`);
    for (const i of lines(onNode(n, ['images', '--format', '{{.Repository}}'], true)))
      if (i.startsWith(`${REGISTRY}/${app}-`)) left.push(`image ${i} on n${n}`);
  }
  const local = (args) => lines(execFileSync('docker', args, { encoding: 'utf8', timeout: 30_000 }));
  for (const c of local(['ps', '-aq', '--filter', `label=switchyard.app=${app}`])) left.push(`container ${c}`);
  for (const i of local(['images', '--format', '{{.Repository}}:{{.Tag}}']))
    if (i.startsWith(`${app}-`) || i.startsWith(`${REGISTRY}/${app}-`)) left.push(`image ${i}`);
  for (const v of local(['volume', 'ls', '-q', '--filter', `label=switchyard.app=${app}`])) left.push(`volume ${v}`);
  for (const nw of local(['network', 'ls', '-q', '--filter', `label=switchyard.app=${app}`]))
    left.push(`network ${nw}`);
  return left;
}
