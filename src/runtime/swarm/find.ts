/**
 * Finding a project's colour services on the swarm again, by their labels (never by name alone:
 * a name can be someone else's), and reading each one's tasks. The manager is the record of what
 * runs, as the Docker engine is for `runtime: docker`: no run file can disagree with it.
 */
import type Docker from 'dockerode';
import type { Colour } from '../../config/schema.js';
import { statusOf } from '../docker/index.js';
import { managerCall } from './client.js';
import { LABEL } from '../docker/index.js';
import { NodeNames, serviceTasks, type TaskView } from './tasks.js';

export interface ColourService {
  id: string;
  /** `<app>_<service>_<colour>`. */
  name: string;
  /** The configured service it runs (`switchyard.service`). */
  service: string;
  colour: string;
  release: string | undefined;
}

interface RawService {
  ID: string;
  Spec?: { Name?: string; Labels?: Record<string, string> };
}

/** The app's colour services (of one colour, when given), sorted by service. */
export async function findServices(manager: Docker, app: string, colour?: Colour): Promise<ColourService[]> {
  const label = [`${LABEL.app}=${app}`, `${LABEL.role}=colour`];
  if (colour) label.push(`${LABEL.colour}=${colour}`);
  const raw = (await managerCall(manager, 'list services', () =>
    manager.listServices({ filters: { label } }),
  )) as unknown as RawService[];
  return raw
    .map((s) => {
      const labels = s.Spec?.Labels ?? {};
      return {
        id: s.ID,
        name: s.Spec?.Name ?? s.ID,
        service: labels[LABEL.service] ?? '?',
        colour: labels[LABEL.colour] ?? '?',
        release: labels[LABEL.release],
      };
    })
    .sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));
}

export interface ServiceTasks extends ColourService {
  /** Every task the manager still keeps for it: the current ones and some history. */
  tasks: TaskView[];
}

/** The colour's services with their tasks; a service removed meanwhile is left out. */
export async function colourTasks(manager: Docker, app: string, colour: Colour): Promise<ServiceTasks[]> {
  const found = await findServices(manager, app, colour);
  const nodes = new NodeNames(manager);
  const out = await Promise.all(
    found.map(async (s) => {
      try {
        return [
          {
            ...s,
            tasks: await managerCall(manager, `list tasks of ${s.name}`, () => serviceTasks(manager, s.id, nodes)),
          },
        ];
      } catch (e) {
        if (statusOf(e) === 404) return [];
        throw e;
      }
    }),
  );
  return out.flat();
}
