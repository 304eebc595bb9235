/**
 * One compose database, cache or queue as a switchyard shared service: one container for both
 * colours, started by init, never stopped by a deploy.
 */
import { convertCommonKey } from './common-keys.js';
import type { Ctx } from './context.js';
import { convertHealthcheck } from './health.js';
import { everyAddress, parsePort, type PortSpec } from './ports.js';
import { publishedPort } from './published.js';
import { whyNot } from './refusals.js';
import { isMap, type JsonMap, type Path } from './types.js';

export interface SharedService {
  config: JsonMap;
  published: { spec: PortSpec; at: Path }[];
}

export function convertShared(ctx: Ctx, name: string, who: string, handled: string[]): SharedService {
  const at = (k: string, ...rest: (string | number)[]): Path => ['services', name, k, ...rest];
  const svc = ctx.get(['services', name]);
  const c: JsonMap = {};
  const res: SharedService = { config: c, published: [] };
  if (!isMap(svc)) return res;
  for (const k of Object.keys(svc)) {
    if (handled.includes(k)) continue;
    if (convertCommonKey(ctx, k, at(k), who, c)) continue;
    switch (k) {
      case 'image':
        if (svc.build !== undefined)
          ctx.decide(at(k), `${who}.image: names the built image in compose; switchyard builds <app>-${who}:shared`);
        else {
          c.image = ctx.out(at(k)) ?? null;
          ctx.decide(at(k), `${who}.image: switchyard pulls nothing: docker pull ${String(svc.image)} first`);
        }
        break;
      case 'ports': {
        const out: string[] = [];
        (Array.isArray(svc.ports) ? svc.ports : []).forEach((p, i) => {
          const spec = parsePort(p);
          const ok =
            spec?.published && /^\d+$/.test(spec.published) && spec.target !== undefined && spec.protocol === 'tcp';
          if (!spec || !ok) {
            ctx.refuse(
              at(k, i),
              `${who}.ports.${i}: ${JSON.stringify(p)}: shared ports are "[ip:]host:container" (tcp)`,
            );
            return;
          }
          res.published.push({ spec, at: at(k, i) });
          const ip = spec.hostIp && !everyAddress(spec.hostIp) ? `${spec.hostIp}:` : '';
          out.push(`${ip}${publishedPort(ctx, at(k, i), spec.published as string)}:${spec.target}`);
          if (!ip) ctx.decide(at(k, i), `${who}.ports.${i}: published on 127.0.0.1 only (compose: every address)`);
        });
        if (out.length) c.ports = out;
        break;
      }
      case 'healthcheck': {
        const h = convertHealthcheck(ctx, at(k), who);
        if (h.healthcheck) c.healthcheck = h.healthcheck;
        break;
      }
      case 'expose':
        ctx.decide(at(k), `${who}.expose: the app's containers reach ${who} by name on <app>-net`);
        break;
      default:
        ctx.refuse(at(k), `${who}.${k}: ${whyNot(k)}`);
    }
  }
  return res;
}
