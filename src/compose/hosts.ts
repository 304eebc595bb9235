/**
 * An app service's environment naming another app service as a host (`http://api:4000`,
 * `api:4000`, `API_HOST: api`): compose gave each service one container under its name, switchyard
 * gives each colour its own, `<app>-<service>-<colour>`, on `<app>-net` under the alias
 * `<service>-<colour>` (src/runtime/docker/names.ts). The value is kept; a note says so. Shared
 * services keep their name as the alias, so naming them needs nothing.
 */
import type { Ctx } from './context.js';
import { isMap } from './types.js';

const literal = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Whether `value` (of the variable `key`) names `host` as a host: in a URL, as host:port, or alone in a *HOST*. */
export function namesHost(key: string, value: string, host: string): boolean {
  const h = literal(host);
  if (new RegExp(`://(?:[^@/\\s]*@)?${h}(?=$|[:/?#,\\s])`, 'i').test(value)) return true;
  if (new RegExp(`(?:^|[\\s,;=@])${h}:\\d+(?=$|[/,;\\s])`, 'i').test(value)) return true;
  return /HOST/i.test(key) && value.trim().toLowerCase() === host.toLowerCase();
}

/** `hosts`: the names compose reached app services by (service name, container_name) -> switchyard service. */
export function appHostNotes(ctx: Ctx, name: string, who: string, hosts: Map<string, string>): void {
  const env = ctx.get(['services', name, 'environment']);
  if (!isMap(env)) return;
  for (const [k, v] of Object.entries(env)) {
    if (typeof v !== 'string') continue;
    const hit = [...hosts].find(([host]) => namesHost(k, v, host));
    if (!hit) continue;
    const [host, target] = hit;
    const alias = host === `${target}-blue` || host === `${target}-green`;
    ctx.decide(
      ['services', name, 'environment', k],
      `${who}.environment.${k}: names ${host}: in switchyard ${target} runs as <app>-${target}-<colour>, reached on ` +
        `<app>-net as ${target}-blue or ${target}-green (${alias ? `${host} is always that colour` : `no ${host}`}); ` +
        "a container's colour is in ENVIRONMENT_NAME",
    );
  }
}
