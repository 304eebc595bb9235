/**
 * Notes index.ts makes about whole services: their depends_on and container_name, and the second
 * colour of a hand-made blue/green pair, key by key against the first.
 */
import type { Ctx } from './context.js';
import { isMap, type JsonMap } from './types.js';

export function dependencyNotes(
  ctx: Ctx,
  name: string,
  roles: Map<string, { role: string }>,
  migration?: string,
): void {
  const svc = ctx.get(['services', name]);
  const deps = isMap(svc) && isMap(svc.depends_on) ? svc.depends_on : {};
  for (const [dep, spec] of Object.entries(deps)) {
    const role = roles.get(dep)?.role;
    const cond = isMap(spec) && spec.condition ? ` (${spec.condition})` : '';
    const why =
      dep === migration
        ? 'the migration runs before the switch (deploy.hooks.migrate)'
        : role === 'shared'
          ? `shared services start first (init waits for their healthcheck)`
          : role === 'proxy'
            ? "the proxy is switchyard's own"
            : "switchyard starts a colour's services together and checks each";
    ctx.decide(['services', name, 'depends_on', dep], `services.${name}: depends_on ${dep}${cond}: ${why}`);
  }
  if (isMap(svc) && typeof svc.container_name === 'string')
    ctx.decide(
      ['services', name, 'container_name'],
      `services.${name}.container_name: switchyard names its containers <app>-<service>[-<colour>]`,
    );
}

/** The second colour of a hand-made pair: each key as in the first, or listed when it differs. */
export function foldedNotes(ctx: Ctx, name: string, kept: string): void {
  const svc = ctx.get(['services', name]);
  const first = ctx.get(['services', kept]);
  if (!isMap(svc) || !isMap(first)) return;
  const same = (k: string) => {
    const strip = (v: unknown) =>
      k === 'environment' && isMap(v as never) ? { ...(v as JsonMap), ENVIRONMENT_NAME: null } : v;
    return k === 'container_name' || JSON.stringify(strip(svc[k])) === JSON.stringify(strip(first[k]));
  };
  for (const k of Object.keys(svc)) {
    if (same(k)) ctx.decide(['services', name, k], `services.${name}.${k}: as in ${kept}`);
    else
      ctx.refuse(
        ['services', name, k],
        `services.${name}.${k}: differs from ${kept}'s; ${kept}'s is used for both colours`,
      );
  }
}
