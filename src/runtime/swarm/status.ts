/**
 * A swarm colour as switchyard reports it: status rows (health level 1) and the run record, both
 * read from the colour's services and their tasks. Each task has a slot, 1..replicas: slot N is
 * instance N, keyed `api` for 1 and `api.2` for 2 (config/instances.ts). Swarm keeps some task
 * history, so per slot the task meant to run (newest first) counts, else the newest one (a failed
 * task that Swarm will not restart); a slot whose current task is not running yet also names how
 * the one before it ended. There is no local pid or port on a swarm: both are 0 in the run.
 */
import { describeKey, instanceKey } from '../../config/instances.js';
import type { Colour } from '../../config/schema.js';
import type { ColourRun, ServiceStatus } from '../types.js';
import type { ServiceTasks } from './find.js';
import type { TaskView } from './tasks.js';

interface Slot {
  task: TaskView;
  /** The newest older task of the same slot, when the current one is not running. */
  before?: TaskView;
}

const where = (t: TaskView): string =>
  t.nodeName ? ` on ${t.nodeName}` : t.node ? ` on node ${t.node.slice(0, 12)}` : '';

/** `running on sysw-n2`, `failed on sysw-n3: task: non-zero exit (3)`, `pending: no suitable node (...)`. */
export const describeTask = (t: TaskView): string => `${t.state}${where(t)}${t.err ? `: ${t.err}` : ''}`;

const isRunning = (t: TaskView): boolean => t.desired === 'running' && t.state === 'running';

/** Per slot, the task that counts (see the file's comment). Tasks without a slot (global mode) are not ours. */
export function slots(tasks: TaskView[]): Map<number, Slot> {
  const bySlot = new Map<number, TaskView[]>();
  for (const t of tasks) if (t.slot !== undefined) bySlot.set(t.slot, [...(bySlot.get(t.slot) ?? []), t]);
  const out = new Map<number, Slot>();
  for (const [slot, list] of [...bySlot].sort(([a], [b]) => a - b)) {
    const newest = [...list].sort((a, b) => b.createdAt - a.createdAt);
    const task = newest.find((t) => t.desired === 'running') ?? newest[0]!;
    const before = isRunning(task) ? undefined : newest.find((t) => t !== task && t.createdAt <= task.createdAt);
    out.set(slot, before ? { task, before } : { task });
  }
  return out;
}

/** Instance key -> slot, over every service of the colour. */
function units(found: ServiceTasks[]): Map<string, Slot & { release: string | undefined }> {
  const out = new Map<string, Slot & { release: string | undefined }>();
  for (const s of found)
    for (const [slot, u] of slots(s.tasks)) out.set(instanceKey(s.service, slot), { ...u, release: s.release });
  return out;
}

function row(key: string, u: Slot | undefined, notStarted: string): ServiceStatus {
  if (!u) return { service: key, running: false, detail: `no task (${notStarted})` };
  const { task, before } = u;
  if (isRunning(task)) return { service: key, running: true, detail: describeTask(task) };
  // Swarm replaces a failed task with a new one unless the restart condition is `none`: then it is final.
  const final = task.desired !== 'running' && ['failed', 'rejected', 'complete', 'shutdown'].includes(task.state);
  return {
    service: key,
    running: false,
    ...(final ? { failed: true } : {}),
    detail: describeTask(task) + (before && before.state !== 'running' ? `; before: ${describeTask(before)}` : ''),
  };
}

/**
 * One row per expected instance key (`api`, `api.2`, ...), then one per task slot the config no
 * longer has (a service removed from it, or an instance above a lowered `instances` count), shown
 * until stop(colour) removes it.
 */
export function statusRows(colour: Colour, keys: string[], found: ServiceTasks[]): ServiceStatus[] {
  const byKey = units(found);
  const names = [...new Set([...keys, ...byKey.keys()])];
  return names.map((k) =>
    row(
      k,
      byKey.get(k),
      found.length === 0 ? `${colour} is not started` : `${describeKey(k)} of ${colour} is not started`,
    ),
  );
}

/** The colour's run as the manager shows it, keyed by instance key; undefined when it has no services. */
export function runOf(colour: Colour, found: ServiceTasks[]): ColourRun | undefined {
  if (found.length === 0) return undefined;
  const services: ColourRun['services'] = {};
  for (const [key, u] of units(found)) {
    if (u.task.desired !== 'running') continue;
    services[key] = { pid: 0, port: 0, startedAt: new Date(u.task.createdAt).toISOString() };
  }
  return { colour, release: found.find((s) => s.release)?.release ?? 'unknown', services };
}
