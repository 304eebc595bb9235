/**
 * Where a colour's instances are, two ways (docs/swarm.md): for the edge proxies, the tasks' DNS
 * name on the overlay (`tasks.<app>_<service>_<colour>`, resolved by each replica every second);
 * for this machine's health checks and smoke steps, each running task's overlay address reached
 * through the tunnel (a loopback forward per task), instance 1 (slot 1) first.
 */
import type { Colour, Config } from '../../config/schema.js';
import type { Endpoint, ServiceEndpoints } from '../types.js';
import { colourTasks } from './find.js';
import type { SwarmSession } from './session.js';
import { tasksName } from './spec.js';

const portOf = (config: Config, service: string): number => config.services[service]?.containerPort ?? 0;

/** What the edge proxies route to: one name per service, which expands to every running task. */
export function swarmBackends(config: Config, colour: Colour): ServiceEndpoints {
  return Object.fromEntries(
    Object.keys(config.services).map((s) => [s, [{ host: tasksName(config.app, s, colour), port: portOf(config, s) }]]),
  );
}

/** Each running task of the colour, through the tunnel, by slot. */
export async function swarmEndpoints(s: SwarmSession, colour: Colour): Promise<ServiceEndpoints> {
  const found = await colourTasks(s.manager, s.config.app, colour);
  if (found.length === 0) return {};
  const network = await s.network();
  const tunnel = await s.tunnel();
  const out: ServiceEndpoints = {};
  for (const svc of found) {
    const running = svc.tasks
      .filter((t) => t.desired === 'running' && t.state === 'running' && t.addresses?.[network])
      .sort((a, b) => (a.slot ?? 0) - (b.slot ?? 0));
    const list: Endpoint[] = [];
    for (const t of running) list.push(await tunnel.forward(t.addresses![network]!, portOf(s.config, svc.service)));
    if (list.length > 0) out[svc.service] = list;
  }
  return out;
}
