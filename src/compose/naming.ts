/**
 * Names: the app's (compose's `name`, else the prefix its container_names share, else the folder),
 * and each service's switchyard name (a hand-made `api-blue` / `api-green` pair is one `api`).
 */
import path from 'node:path';
import type { Ctx } from './context.js';
import { colourOf, switchyardName } from './roles.js';
import { isMap } from './types.js';

export function appName(ctx: Ctx, files: string[]): string {
  if (typeof ctx.val.name === 'string' && ctx.val.name) {
    const n = switchyardName(ctx.val.name);
    ctx.decide(['name'], `app: ${n}, from the compose project name`);
    return n;
  }
  const services = isMap(ctx.val.services) ? ctx.val.services : {};
  const names = Object.values(services).flatMap((s) =>
    isMap(s) && typeof s.container_name === 'string' ? [s.container_name] : [],
  );
  const prefixes = names.map((n) => /^([a-z][a-z0-9]*)[-_]/i.exec(n)?.[1]).filter((p): p is string => !!p);
  const common = prefixes.find((p) => prefixes.filter((x) => x === p).length >= 2);
  if (common) {
    const n = switchyardName(common);
    ctx.decideAt({ file: files[0] ?? '', line: 1 }, `app: ${n}, the prefix of the container names (${common}-...)`);
    return n;
  }
  const n = switchyardName(path.basename(ctx.project));
  ctx.decideAt({ file: files[0] ?? '', line: 1 }, `app: ${n}, from the folder name`);
  return n;
}

export interface Naming {
  /** compose service -> switchyard name. */
  out: Map<string, string>;
  /** compose services that are the second colour of a pair, folded into the first. */
  folded: Set<string>;
  /** Hosts nginx may name (service, container_name, both colours) -> switchyard name. */
  hosts: Map<string, string>;
}

export function nameServices(ctx: Ctx, candidates: string[], all: string[]): Naming {
  const naming: Naming = { out: new Map(), folded: new Set(), hosts: new Map() };
  const taken = new Set<string>();
  for (const name of candidates) {
    const c = colourOf(name);
    const other = c
      ? `${c.base}${name.slice(c.base.length, -c.colour.length)}${c.colour === 'blue' ? 'green' : 'blue'}`
      : '';
    const pair = c && candidates.includes(other);
    if (pair && naming.out.has(other)) {
      naming.folded.add(name);
      naming.out.set(name, naming.out.get(other) as string);
      ctx.decide(
        ['services', name],
        `services.${name}: the ${c.colour} copy of ${other}: switchyard runs one per colour`,
      );
      continue;
    }
    let n = switchyardName(pair && c ? c.base : name);
    for (let i = 2; taken.has(n); i++) n = `${switchyardName(pair && c ? c.base : name).slice(0, 37)}-${i}`;
    taken.add(n);
    naming.out.set(name, n);
    if (pair) ctx.decide(['services', name], `services.${name}: becomes ${n}, run once per colour`);
    else if (n !== name) ctx.decide(['services', name], `services.${name}: named ${n} (switchyard names are a-z0-9-)`);
  }
  const services = isMap(ctx.val.services) ? ctx.val.services : {};
  for (const name of all) {
    const n = naming.out.get(name);
    if (!n) continue;
    naming.hosts.set(name, n);
    const svc = services[name];
    if (isMap(svc) && typeof svc.container_name === 'string') naming.hosts.set(svc.container_name, n);
  }
  return naming;
}
