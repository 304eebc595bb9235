/**
 * Health levels 1-2 for containers: level 1 is "exists and running" (a restarting container is
 * not), level 2 is Docker's health status where the image or the config defines a HEALTHCHECK.
 * `starting` is not yet healthy; `unhealthy` is reported running but not healthy, with the last
 * health probe outputs, so the message says why.
 */
import type Docker from 'dockerode';
import { describeKey } from '../../config/instances.js';
import type { Colour } from '../../config/schema.js';
import { LOOPBACK } from '../ports.js';
import type { ServiceStatus } from '../types.js';
import { publishedPort, type Found } from './containers.js';

/** Health probe outputs kept in a message: Docker keeps the last 5. */
const HEALTH_LOG_LINES = 3;

function healthLog(info: Docker.ContainerInspectInfo): string {
  const log = (info.State.Health?.Log ?? []) as { ExitCode?: number; Output?: string }[];
  return log
    .slice(-HEALTH_LOG_LINES)
    .map(
      (l) =>
        `exit ${l.ExitCode ?? '?'}: ${(l.Output ?? '').trim().replace(/\s+/g, ' ').slice(0, 200) || '(no output)'}`,
    )
    .join('; ');
}

export function containerStatus(service: string, found: Found | undefined, where: string): ServiceStatus {
  if (!found) return { service, running: false, detail: `no container (${where})` };
  const s = found.info.State;
  const port = publishedPort(found.info);
  const base: ServiceStatus = {
    service,
    running: false,
    ...(s.Pid > 0 ? { pid: s.Pid } : {}),
    ...(port !== undefined ? { port } : {}),
  };
  const rel = found.release ? `, release ${found.release}` : '';
  const at = port !== undefined ? ` on ${LOOPBACK}:${port}` : '';
  if (s.Restarting)
    return {
      ...base,
      detail: `${found.name} is restarting (exit code ${s.ExitCode}, restarted ${found.info.RestartCount} times)`,
    };
  if (!s.Running)
    return {
      ...base,
      detail: `${found.name} is ${s.Status} (exit code ${s.ExitCode}${s.Error ? `, ${s.Error}` : ''})`,
    };
  const health = s.Health?.Status;
  const running = { ...base, running: true };
  if (health === undefined || health === 'none' || health === '')
    return { ...running, detail: `${found.name} running${at}${rel}` };
  if (health === 'healthy') return { ...running, healthy: true, detail: `${found.name} healthy${at}${rel}` };
  if (health === 'starting') return { ...running, healthy: false, detail: `${found.name}: health check starting` };
  return {
    ...running,
    healthy: false,
    failed: health === 'unhealthy',
    detail: `${found.name} is ${health}: ${healthLog(found.info) || 'no health log'}`,
  };
}

/**
 * One status per expected instance key (`api`, `api.2`: config/instances.ts), `service` being the
 * key, plus any container the config no longer has: a service removed, or an instance above a
 * lowered `instances` count, shown until stop(colour) removes it. A missing instance of a colour
 * whose other containers exist is "not started" by itself.
 */
export function colourStatus(colour: Colour, keys: string[], found: Found[]): ServiceStatus[] {
  const byKey = new Map(found.map((f) => [f.key, f]));
  const names = [...new Set([...keys, ...byKey.keys()])];
  return names.map((n) =>
    containerStatus(
      n,
      byKey.get(n),
      found.length === 0 ? `${colour} is not started` : `${describeKey(n)} of ${colour} is not started`,
    ),
  );
}
