/** Two services publishing the same host port cannot both run: compose would fail to start the second. */
import type { Ctx } from './context.js';
import { everyAddress, parsePort } from './ports.js';
import { composeError, isMap } from './types.js';

export function checkPublishedPorts(ctx: Ctx, active: string[]): void {
  const owners = new Map<string, { service: string; i: number }>();
  for (const name of active) {
    const svc = ctx.get(['services', name]);
    const ports = isMap(svc) && Array.isArray(svc.ports) ? svc.ports : [];
    ports.forEach((p, i) => {
      const spec = parsePort(p);
      if (!spec?.published) return;
      const key = `${everyAddress(spec.hostIp) ? '*' : spec.hostIp}:${spec.published}/${spec.protocol}`;
      const wildcard = `*:${spec.published}/${spec.protocol}`;
      const first = owners.get(key) ?? owners.get(wildcard);
      if (first && !(first.service === name && first.i === i)) {
        const l = ctx.loc(['services', first.service, 'ports', first.i]);
        throw composeError(
          ctx.loc(['services', name, 'ports', i]),
          `services.${name} publishes port ${spec.published}, ` +
            `already published by services.${first.service} (${l.file}:${l.line})`,
          'give each service its own host port',
        );
      }
      owners.set(key, { service: name, i });
    });
  }
}
