/**
 * `switchyard logs` and the last words of a failed health check on a swarm: each task's log, read
 * through the manager (the Engine API's task logs, which the manager gathers from the node that
 * runs it), labelled by instance key (`api`, `api.2`: the task's slot).
 */
import type Docker from 'dockerode';
import type { Colour, Config } from '../../config/schema.js';
import { instanceKey } from '../../config/instances.js';
import { SwitchyardError } from '../../errors.js';
import { containerTail, streamLogs, type LogSource } from '../docker/index.js';
import { colourTasks } from './find.js';

interface TaskLog {
  id: string;
  label: string;
  service: string;
}

/** A task's log through the manager (both streams), as a LogSource for the Docker log readers. */
export const taskLogs =
  (manager: Docker): LogSource =>
  (id, o) =>
    (manager.getTask(id) as unknown as { logs(o: object): Promise<unknown> }).logs({
      stdout: true,
      stderr: true,
      ...o,
    });

/** The colour's current tasks (one per slot: the newest), by instance key. */
async function tasksOf(manager: Docker, config: Config, colour: Colour): Promise<TaskLog[]> {
  const out: TaskLog[] = [];
  for (const svc of await colourTasks(manager, config.app, colour)) {
    const bySlot = new Map<number, { id: string; createdAt: number }>();
    for (const t of svc.tasks) {
      const slot = t.slot ?? 1;
      const have = bySlot.get(slot);
      if (!have || t.createdAt > have.createdAt) bySlot.set(slot, t);
    }
    for (const [slot, t] of [...bySlot].sort((a, b) => a[0] - b[0]))
      out.push({ id: t.id, label: instanceKey(svc.service, slot), service: svc.service });
  }
  return out;
}

export async function swarmLogs(
  manager: Docker,
  config: Config,
  colour: Colour,
  services: string[],
  opts: { follow: boolean; signal?: AbortSignal },
  write: (line: string) => void,
): Promise<void> {
  const found = (await tasksOf(manager, config, colour)).filter(
    (t) => services.includes(t.service) || services.includes(t.label),
  );
  if (found.length === 0)
    throw new SwitchyardError('USAGE', `${colour} has no tasks for ${services.join(', ')}`, {
      hint: '`switchyard status` shows what runs',
    });
  await streamLogs(manager, found, opts, write, taskLogs(manager));
}

export async function swarmTail(manager: Docker, config: Config, colour: Colour, key: string, lines: number) {
  const t = (await tasksOf(manager, config, colour)).find((x) => x.label === key);
  return t ? containerTail(manager, t.id, lines, taskLogs(manager)) : '';
}
