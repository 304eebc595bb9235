/**
 * Several instances per service (`services.<name>.instances`): how each copy is named wherever a
 * colour's units are listed (the process runtime's run file and logs, status rows, health
 * details). Instance 1 keeps the service's own name, so a project with one instance per service
 * reads exactly as before; instance N (2..16) is `<service>.N`. A service name never contains a
 * dot (schema-prims `name`), so a key always splits back into one service and one number.
 */
import type { Config } from './schema.js';

export interface Instance {
  /** `api` for instance 1, `api.2` for instance 2. */
  key: string;
  service: string;
  /** 1-based. */
  index: number;
}

export const instanceKey = (service: string, index: number): string => (index === 1 ? service : `${service}.${index}`);

/** The service and instance number a key names (`api.2` -> api, 2; `api` -> api, 1). */
export function parseInstanceKey(key: string): { service: string; index: number } {
  const m = /^(.+)\.(\d+)$/.exec(key);
  return m ? { service: m[1]!, index: Number(m[2]) } : { service: key, index: 1 };
}

export const serviceOfKey = (key: string): string => parseInstanceKey(key).service;

/** Every instance of every service, in config order, instance 1 first. */
export function instancesOf(services: Config['services']): Instance[] {
  return Object.entries(services).flatMap(([service, svc]) =>
    Array.from({ length: svc.instances }, (_, i) => ({ key: instanceKey(service, i + 1), service, index: i + 1 })),
  );
}

/** A fixed port (`services.<name>.port.<colour>`) for instance `index`: the port + index - 1. */
export const fixedPortOf = (base: number, index: number): number => base + index - 1;

/** The instances with a fixed port in `colour`, each with its port; the others pick theirs. */
export function fixedPorts(services: Config['services'], colour: 'blue' | 'green'): (Instance & { port: number })[] {
  return instancesOf(services).flatMap((u) => {
    const base = services[u.service]!.port?.[colour];
    return base === undefined ? [] : [{ ...u, port: fixedPortOf(base, u.index) }];
  });
}

/** How a key is shown to people: `api` alone, `api (instance 2)`. */
export function describeKey(key: string): string {
  const { service, index } = parseInstanceKey(key);
  return index === 1 ? service : `${service} (instance ${index})`;
}
