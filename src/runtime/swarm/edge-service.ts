/**
 * Running the edge proxy's global service (edge-spec.ts) on the swarm: its control token (a Swarm
 * secret, and switchyard's copy in `.switchyard/edge-token`, mode 0600), the service created when
 * missing, the wait until a replica runs on every node that should have one, and the replicas as
 * the manager lists them (node, overlay address). Removing it is what `down` does.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type Docker from 'dockerode';
import { SwitchyardError } from '../../errors.js';
import type { ProjectPaths } from '../../state/paths.js';
import { apiMessage, sleep, statusOf } from '../docker/index.js';
import { managerCall } from './client.js';
import {
  EDGE_KIND_LABEL,
  edgeSecretName,
  edgeServiceName,
  edgeServiceSpec,
  type EdgeServiceInput,
} from './edge-spec.js';
import { NodeNames, serviceTasks, TASK_POLL_MS, waitForTasks, type TaskView } from './tasks.js';

export const EDGE_TOKEN_FILE = 'edge-token';
/** How long the edge replicas get to start on every node (the image is pulled on first use). */
export const EDGE_START_MS = 120_000;

const tokenFile = (paths: ProjectPaths) => path.join(paths.dir, EDGE_TOKEN_FILE);

/** The control token: this machine's copy, and the Swarm secret the replicas read it from. */
export async function ensureEdgeToken(
  paths: ProjectPaths,
  manager: Docker,
  app: string,
): Promise<{ token: string; secretId: string }> {
  const name = edgeSecretName(app);
  const secrets = (await managerCall(manager, 'list secrets', () =>
    manager.listSecrets({ filters: { name: [name] } }),
  )) as { ID: string; Spec?: { Name?: string } }[];
  const existing = secrets.find((s) => s.Spec?.Name === name);
  let token = (await fs.readFile(tokenFile(paths), 'utf8').catch(() => '')).trim();
  if (existing) {
    if (token === '')
      throw new SwitchyardError(
        'PROXY_FAILED',
        `the swarm holds the edge proxy's token (secret ${name}), but this machine has no copy of it`,
        {
          hint:
            `copy ${tokenFile(paths)} from the machine that ran \`switchyard init\`, or run \`switchyard down\` ` +
            `there (which removes the edge proxy and its secret) and init again`,
        },
      );
    return { token, secretId: existing.ID };
  }
  token = randomBytes(32).toString('hex');
  await fs.mkdir(paths.dir, { recursive: true, mode: 0o700 });
  await fs.writeFile(tokenFile(paths), `${token}\n`, { mode: 0o600 });
  const made = (await managerCall(manager, `create secret ${name}`, () =>
    manager.createSecret({
      Name: name,
      Data: Buffer.from(token).toString('base64'),
      Labels: { 'switchyard.app': app },
    }),
  )) as { id?: string; ID?: string };
  return { token, secretId: made.id ?? made.ID ?? '' };
}

/** The subnet of the project's overlay network, where the edge proxies' control API listens. */
export async function overlaySubnet(manager: Docker, network: string): Promise<string> {
  const info = (await managerCall(manager, `inspect network ${network}`, () =>
    manager.getNetwork(network).inspect(),
  )) as { IPAM?: { Config?: { Subnet?: string }[] } };
  const subnet = info.IPAM?.Config?.find((c) => c.Subnet?.includes('.'))?.Subnet;
  if (!subnet) throw new SwitchyardError('PROXY_FAILED', `the overlay network ${network} has no IPv4 subnet`);
  return subnet;
}

interface EdgeInfo {
  Spec?: { Labels?: Record<string, string>; EndpointSpec?: { Ports?: { PublishedPort?: number }[] } };
}

async function edgeService(manager: Docker, app: string): Promise<EdgeInfo | undefined> {
  try {
    return (await managerCall(manager, 'inspect the edge service', () =>
      manager.getService(edgeServiceName(app)).inspect(),
    )) as EdgeInfo;
  } catch (e) {
    if (statusOf(e) === 404) return undefined;
    throw e;
  }
}

export async function edgeServiceExists(manager: Docker, app: string): Promise<boolean> {
  return (await edgeService(manager, app)) !== undefined;
}

/** Creates the edge service when it is missing; true when it did. Then waits for its replicas. */
export async function ensureEdgeService(manager: Docker, i: EdgeServiceInput, signal?: AbortSignal): Promise<boolean> {
  const name = edgeServiceName(i.app);
  const since = Date.now() - 2_000;
  let created = false;
  const existing = await edgeService(manager, i.app);
  if (existing) {
    // The proxy is chosen when the service is made: a changed proxy.kind needs a new edge service.
    const kind = existing.Spec?.Labels?.[EDGE_KIND_LABEL] ?? 'builtin';
    const want = i.nginx ? 'nginx' : 'builtin';
    if (kind !== want)
      throw new SwitchyardError('PROXY_FAILED', `the edge proxy ${name} runs ${kind}, but the config says ${want}`, {
        hint:
          'replacing the edge proxy leaves each node without one for a moment: in a quiet hour, ' +
          '`switchyard down` then `switchyard init`',
      });
    // Ports are fixed when the service is made: a changed proxy.listen needs a new edge service.
    const published = (existing.Spec?.EndpointSpec?.Ports ?? []).map((p) => p.PublishedPort ?? 0).sort((a, b) => a - b);
    const wanted = [...i.ports].sort((a, b) => a - b);
    if (JSON.stringify(published) !== JSON.stringify(wanted))
      throw new SwitchyardError(
        'PROXY_FAILED',
        `the edge proxy ${name} publishes port(s) ${published.join(', ')}, but the config says ${wanted.join(', ')}`,
        {
          hint:
            'replacing the edge proxy leaves each node without one for a moment: in a quiet hour, ' +
            '`switchyard down` then `switchyard init`',
        },
      );
  } else {
    try {
      await managerCall(manager, `create service ${name}`, () => manager.createService(edgeServiceSpec(i)));
      created = true;
    } catch (e) {
      if (statusOf(e) !== 409)
        throw new SwitchyardError('PROXY_FAILED', `could not create the edge proxy service ${name}: ${apiMessage(e)}`, {
          cause: e,
        });
    }
  }
  await waitEdgeReplicas(manager, name, created ? since : undefined, signal);
  return created;
}

/** Waits until every task meant to run (one per eligible node) runs, and still runs a moment later. */
async function waitEdgeReplicas(manager: Docker, name: string, since: number | undefined, signal?: AbortSignal) {
  const deadline = performance.now() + EDGE_START_MS;
  let wanted = 0;
  // A global service's tasks appear a moment after it is created.
  while (wanted === 0 && performance.now() < deadline) {
    const tasks = await managerCall(manager, `list tasks of ${name}`, () => serviceTasks(manager, name));
    wanted = tasks.filter((t) => t.desired === 'running').length;
    if (wanted === 0) await sleep(TASK_POLL_MS);
  }
  if (wanted === 0)
    throw new SwitchyardError('PROXY_FAILED', `no node takes the edge proxy ${name}`, {
      hint: 'check swarm.edge.constraints against the nodes (`docker node ls`)',
    });
  await waitForTasks(manager, name, {
    replicas: wanted,
    timeoutMs: Math.max(1_000, deadline - performance.now()),
    ...(since !== undefined ? { since } : {}),
    ...(signal ? { signal } : {}),
  });
}

export interface EdgeReplica {
  node: string;
  /** Its address on the overlay; absent when the task is not running. */
  address?: string;
  /** Why its node cannot run it now (the node is down). */
  down?: string;
  task: TaskView;
}

export interface RawNode {
  ID: string;
  Description?: { Hostname?: string };
  Spec?: { Availability?: string };
  Status?: { State?: string; Message?: string };
}

/**
 * One entry per node that runs, or should run, an edge replica: every node with a task of the
 * service meant to run, and every node that had one and is still in the swarm and not drained
 * (a node whose engine stopped is `down`, and the manager no longer lists a task meant to run
 * there: it must still count, or a switch would leave it behind unnoticed). The address is the
 * replica's on the overlay, only when its task runs on a ready node.
 */
export async function edgeReplicas(manager: Docker, app: string, network: string): Promise<EdgeReplica[]> {
  const [tasks, nodes] = await Promise.all([
    managerCall(manager, 'list the edge tasks', () =>
      serviceTasks(manager, edgeServiceName(app), new NodeNames(manager)),
    ),
    managerCall(manager, 'list the nodes', () => manager.listNodes() as Promise<RawNode[]>),
  ]);
  return replicasOf(tasks, nodes, network);
}

/** edgeReplicas from what the manager listed (a pure function, unit-tested). */
export function replicasOf(tasks: TaskView[], nodes: RawNode[], network: string): EdgeReplica[] {
  const byId = new Map(nodes.map((n) => [n.ID, n]));
  const newest = new Map<string, TaskView>();
  for (const t of [...tasks].sort((a, b) => a.createdAt - b.createdAt)) {
    const have = newest.get(t.node);
    // The task meant to run wins; otherwise the newest.
    if (!have || t.desired === 'running' || have.desired !== 'running') newest.set(t.node, t);
  }
  const out: EdgeReplica[] = [];
  for (const [id, t] of newest) {
    const n = byId.get(id);
    if (!n || (t.desired !== 'running' && n.Spec?.Availability !== 'active')) continue;
    const ready = n.Status?.State === 'ready';
    const address = ready && t.desired === 'running' && t.state === 'running' ? t.addresses?.[network] : undefined;
    out.push({
      node: n.Description?.Hostname ?? t.nodeName ?? id.slice(0, 12),
      ...(address ? { address } : {}),
      ...(ready
        ? {}
        : { down: `the node is ${n.Status?.State ?? 'unknown'}${n.Status?.Message ? ` (${n.Status.Message})` : ''}` }),
      task: t,
    });
  }
  return out.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
}

/** Removes the edge service and its secret, and waits until its tasks are gone. Idempotent. */
export async function removeEdge(manager: Docker, app: string, paths: ProjectPaths): Promise<boolean> {
  const name = edgeServiceName(app);
  const existed = await edgeServiceExists(manager, app);
  if (existed) {
    await managerCall(manager, `remove service ${name}`, () => manager.getService(name).remove()).catch((e) => {
      if (statusOf(e) !== 404) throw e;
    });
    const deadline = performance.now() + 60_000;
    while (performance.now() < deadline) {
      const left = (await managerCall(manager, 'list tasks', () =>
        manager.listTasks({ filters: { service: [name] } }),
      ).catch(() => [])) as unknown[];
      if (left.length === 0) break;
      await sleep(TASK_POLL_MS * 2);
    }
  }
  const secret = edgeSecretName(app);
  await managerCall(manager, `remove secret ${secret}`, () => manager.getSecret(secret).remove()).catch((e) => {
    if (statusOf(e) !== 404) throw e;
  });
  await fs.rm(tokenFile(paths), { force: true });
  return existed;
}
