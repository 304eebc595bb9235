/**
 * A one-off service the others wait for (`depends_on: { x: { condition:
 * service_completed_successfully } }`), built like an app service: the migration. switchyard runs
 * it as `deploy.hooks.migrate`, inside that app service of the new colour, before the switch.
 */
import type { Ctx } from './context.js';
import { convertCommand } from './keys.js';
import { isMap, type JsonMap } from './types.js';

export interface Migration {
  name: string;
  hook: JsonMap;
}

export function findMigration(ctx: Ctx, apps: string[], outName: (n: string) => string): Migration | undefined {
  const services = isMap(ctx.val.services) ? ctx.val.services : {};
  const awaited = apps.find((n) =>
    apps.some((o) => {
      const deps = isMap(services[o]) ? (services[o] as JsonMap).depends_on : undefined;
      const d = isMap(deps) ? deps[n] : undefined;
      return isMap(d) && d.condition === 'service_completed_successfully';
    }),
  );
  if (!awaited) return undefined;
  const svc = services[awaited] as JsonMap;
  const same = (o: string) => {
    const other = services[o];
    if (!isMap(other) || o === awaited) return false;
    return JSON.stringify(other.build ?? other.image) === JSON.stringify(svc.build ?? svc.image);
  };
  const host = apps.find(same);
  const run = convertCommand(ctx, ['services', awaited, 'command']);
  if (!host || !run) return undefined;
  for (const k of Object.keys(svc))
    ctx.decide(
      ['services', awaited, k],
      k === 'command'
        ? `services.${awaited}: a one-off run: deploy.hooks.migrate runs it in ${outName(host)} of the new colour`
        : `services.${awaited}.${k}: not needed: the migration runs in ${outName(host)}'s container`,
    );
  return { name: awaited, hook: { run, service: outName(host) } };
}
