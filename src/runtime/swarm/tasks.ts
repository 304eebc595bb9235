/**
 * Waiting for a Swarm service's tasks (issue 13): Docker 20.10 cannot wait on a service create or
 * update, so the manager's task list is polled until every replica of the wanted spec runs. A task
 * with a health check is reported `starting` until it is healthy, so `running` here means healthy
 * where the image or the config defines a check. Failures end the wait early and name the node and
 * the engine's words: a task that failed or was rejected (a missing image, a bad command), and a
 * task no node can take (`no suitable node`: a placement constraint nobody meets). Every wait is
 * bounded and stops on the signal.
 */
import type Docker from 'dockerode';
import { SwitchyardError } from '../../errors.js';
import { sleep } from '../../util/sleep.js';

export const TASK_POLL_MS = 250;

/** What the manager says of one task (the fields switchyard reads). */
export interface TaskView {
  id: string;
  slot?: number;
  node: string;
  /** The node's hostname, when known. */
  nodeName?: string;
  state: string;
  desired: string;
  err?: string;
  message?: string;
  /** When the manager created it (ms since the epoch). */
  createdAt: number;
  /** Its address on each network it is attached to, by network name (no prefix length). */
  addresses?: Record<string, string>;
}

interface RawTask {
  ID: string;
  CreatedAt?: string;
  Slot?: number;
  NodeID?: string;
  DesiredState?: string;
  Status?: { State?: string; Err?: string; Message?: string };
  NetworksAttachments?: { Network?: { Spec?: { Name?: string } }; Addresses?: string[] }[];
}

function addressesOf(t: RawTask): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const a of t.NetworksAttachments ?? []) {
    const name = a.Network?.Spec?.Name;
    const addr = a.Addresses?.[0]?.split('/')[0];
    if (name && addr) out[name] = addr;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * Node IDs to hostnames, listed from the manager only when a task names a node not seen yet: a
 * wait polls the tasks every TASK_POLL_MS, and the nodes rarely change while it does.
 */
export class NodeNames {
  private names = new Map<string, string | undefined>();

  constructor(private readonly docker: Docker) {}

  async of(ids: string[]): Promise<Map<string, string | undefined>> {
    if (ids.some((id) => id !== '' && !this.names.has(id))) {
      const nodes = (await this.docker.listNodes()) as { ID: string; Description?: { Hostname?: string } }[];
      this.names = new Map(nodes.map((n) => [n.ID, n.Description?.Hostname]));
    }
    return this.names;
  }
}

/** The service's tasks as the manager lists them; `nodes`: share one across calls to list the nodes once. */
export async function serviceTasks(
  docker: Docker,
  serviceName: string,
  nodes: NodeNames = new NodeNames(docker),
): Promise<TaskView[]> {
  const raw = (await docker.listTasks({ filters: { service: [serviceName] } })) as RawTask[];
  const names = await nodes.of(raw.map((t) => t.NodeID ?? ''));
  return raw.map((t) => ({
    id: t.ID,
    ...(t.Slot !== undefined ? { slot: t.Slot } : {}),
    node: t.NodeID ?? '',
    ...(t.NodeID && names.get(t.NodeID) ? { nodeName: names.get(t.NodeID) } : {}),
    createdAt: Date.parse(t.CreatedAt ?? '') || 0,
    state: t.Status?.State ?? 'unknown',
    desired: t.DesiredState ?? 'unknown',
    ...(t.Status?.Err ? { err: t.Status.Err } : {}),
    ...(t.Status?.Message ? { message: t.Status.Message } : {}),
    ...(addressesOf(t) ? { addresses: addressesOf(t) } : {}),
  }));
}

const where = (t: TaskView) => (t.nodeName ? ` on ${t.nodeName}` : t.node ? ` on node ${t.node.slice(0, 12)}` : '');

/**
 * A task that will not run: pending because no node can take it, or failed / rejected. A failed
 * task's desired state turns to shutdown as Swarm replaces it, so a failure counts when the task is
 * still meant to run or was created since the wait's `since` (an older deploy's failures, kept in
 * the task history, do not).
 */
function hopeless(t: TaskView, since: number): string | undefined {
  if (t.state === 'pending' && t.err && /no suitable node/i.test(t.err)) return `cannot be placed: ${t.err}`;
  const current = t.desired === 'running' || t.createdAt >= since;
  if (current && ['failed', 'rejected'].includes(t.state))
    return `${t.state}${where(t)}: ${t.err ?? t.message ?? 'no reason given'}`;
  return undefined;
}

/** As in the Docker runtime: a task still running this long after it started got past its start. */
export const TASK_GRACE_MS = 1_500;

export interface WaitTasksOptions {
  replicas: number;
  timeoutMs: number;
  /** How long the running tasks must stay running before the wait succeeds (default TASK_GRACE_MS). */
  graceMs?: number;
  /**
   * When the caller created or updated the service (ms since the epoch, this machine's clock; the
   * manager's must agree within a second or two, as NTP keeps it): failures of older tasks are
   * history. Default: one minute before the wait began.
   */
  since?: number;
  signal?: AbortSignal;
  onProgress?(running: number, tasks: TaskView[]): void;
}

/**
 * Resolves with the running tasks once `replicas` of them (desired running) are running and the
 * same ones still run `graceMs` later (a task that crashes on start is `running` for a moment);
 * throws START_FAILED as soon as one fails, is rejected or cannot be placed, TIMEOUT at the bound.
 */
export async function waitForTasks(docker: Docker, serviceName: string, o: WaitTasksOptions): Promise<TaskView[]> {
  const deadline = performance.now() + o.timeoutMs;
  const grace = o.graceMs ?? TASK_GRACE_MS;
  const since = o.since ?? Date.now() - 60_000;
  let steady: { ids: string; since: number } | undefined;
  let last: TaskView[] = [];
  const nodes = new NodeNames(docker);
  for (;;) {
    if (o.signal?.aborted) throw new SwitchyardError('ABORTED', `waiting for ${serviceName} interrupted`);
    last = await serviceTasks(docker, serviceName, nodes);
    const bad = last.map((t) => [t, hopeless(t, since)] as const).find(([, why]) => why !== undefined);
    if (bad)
      throw new SwitchyardError('START_FAILED', `a task of ${serviceName} ${bad[1]}`, {
        hint: /no suitable node/i.test(bad[0].err ?? '')
          ? 'check swarm.constraints against the nodes (`docker node ls`, `docker node inspect`)'
          : `see \`docker service ps --no-trunc ${serviceName}\` on the manager`,
      });
    const running = last.filter((t) => t.desired === 'running' && t.state === 'running');
    o.onProgress?.(running.length, last);
    if (running.length >= o.replicas) {
      const ids = running
        .map((t) => t.id)
        .sort()
        .join(',');
      if (steady?.ids !== ids) steady = { ids, since: performance.now() };
      else if (performance.now() - steady.since >= grace) return running;
    } else steady = undefined;
    if (performance.now() >= deadline) {
      const states = last
        .filter((t) => t.desired === 'running')
        .map((t) => `${t.state}${where(t)}`)
        .join(', ');
      throw new SwitchyardError(
        'TIMEOUT',
        `${serviceName}: ${running.length} of ${o.replicas} task(s) running after ${Math.round(o.timeoutMs / 1000)} s` +
          (states ? ` (${states})` : ''),
        { hint: `see \`docker service ps --no-trunc ${serviceName}\` on the manager` },
      );
    }
    await sleep(TASK_POLL_MS);
  }
}
