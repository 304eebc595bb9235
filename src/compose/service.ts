/**
 * One compose app service as a switchyard service (runtime docker: one container per colour):
 * every key converted, decided (a note) or listed as unsupported.
 */
import { convertCommonKey } from './common-keys.js';
import type { Ctx } from './context.js';
import { convertHealthcheck } from './health.js';
import { type PortSpec, parsePort } from './ports.js';
import { whyNot } from './refusals.js';
import { isMap, type Json, type JsonMap, type Path } from './types.js';

export interface AppService {
  config: JsonMap;
  /** Published ports, for the proxy's listen and routes. */
  published: { spec: PortSpec; at: Path }[];
  /** The container port, or undefined when nothing told it. */
  port?: number;
  routeLabels: string[];
}

export interface AppOptions {
  /** The port nginx's config sends this service's requests to. */
  upstreamPort?: number;
  /** Environment keys switchyard sets itself (ENVIRONMENT_NAME in a hand-made blue/green file). */
  drop: string[];
  /** Keys handled by the caller (depends_on, profiles, container_name, labels of a router). */
  handled: string[];
}

const TRAEFIK_PATH = /PathPrefix\(`([^`]+)`\)/;

export function convertApp(ctx: Ctx, name: string, who: string, opts: AppOptions): AppService {
  const at = (k: string, ...rest: (string | number)[]): Path => ['services', name, k, ...rest];
  const svc = ctx.get(['services', name]);
  const res: AppService = { config: {}, published: [], routeLabels: [] };
  if (!isMap(svc)) return res;
  const c: JsonMap = {};
  const ports: { port: number; at: Path }[] = [];
  let healthPath: string | undefined;
  let healthPort: number | undefined;
  for (const k of Object.keys(svc)) {
    if (opts.handled.includes(k)) continue;
    if (convertCommonKey(ctx, k, at(k), who, c, opts.drop)) continue;
    switch (k) {
      case 'image':
        if (svc.build !== undefined)
          ctx.decide(at(k), `${who}.image: names the built image in compose; switchyard tags its own per release`);
        else {
          c.image = ctx.out(at(k)) ?? null;
          ctx.decide(at(k), `${who}.image: switchyard pulls nothing: docker pull ${String(svc.image)} first`);
        }
        break;
      case 'healthcheck': {
        const h = convertHealthcheck(ctx, at(k), who);
        if (h.healthcheck) c.healthcheck = h.healthcheck;
        healthPath = h.path;
        healthPort = h.port;
        break;
      }
      case 'ports':
        (Array.isArray(svc.ports) ? svc.ports : []).forEach((p, i) => {
          const spec = parsePort(p);
          if (spec?.target !== undefined) ports.push({ port: spec.target, at: at(k, i) });
          if (spec?.published !== undefined) res.published.push({ spec, at: at(k, i) });
          else
            ctx.refuse(
              at(k, i),
              `${who}.ports.${i}: ${JSON.stringify(p)}: a random host port; switchyard publishes its own`,
            );
        });
        break;
      case 'expose':
        (Array.isArray(svc.expose) ? svc.expose : []).forEach((e, i) => {
          if (/^\d+$/.test(String(e))) ports.push({ port: Number(e), at: at(k, i) });
        });
        ctx.decide(at(k), `${who}.expose: the container port; every container of the app reaches it on <app>-net`);
        break;
      case 'deploy':
        convertDeploy(ctx, at(k), who, c);
        break;
      case 'scale':
        c.instances = Math.min(16, Math.max(1, Number(svc.scale) || 1));
        ctx.decide(at(k), `${who}.scale: ${c.instances} instances per colour`);
        break;
      case 'labels':
        for (const [lk, lv] of Object.entries(isMap(svc.labels) ? svc.labels : {})) {
          const m = /^traefik\.http\.routers\.[^.]+\.rule$/.test(lk) ? TRAEFIK_PATH.exec(String(lv)) : null;
          if (m) {
            res.routeLabels.push(m[1] as string);
            ctx.decide(at(k, lk), `${who}.labels.${lk}: gives the route ${m[1]}`);
          } else if (lk.startsWith('traefik.')) ctx.decide(at(k, lk), `${who}.labels.${lk}: traefik's; not needed`);
          else ctx.refuse(at(k, lk), `${who}.labels.${lk}: switchyard sets its own labels`);
        }
        break;
      default:
        ctx.refuse(at(k), `${who}.${k}: ${whyNot(k)}`);
    }
  }
  res.port = ports[0]?.port ?? opts.upstreamPort ?? healthPort ?? envPort(svc);
  const seen = new Set([res.port]);
  for (const p of ports) {
    if (!seen.has(p.port)) ctx.refuse(p.at, `${who}: one port per service (${res.port}); ${p.port} is not routed`);
    seen.add(p.port);
  }
  if (res.port === undefined) {
    ctx.decide(['services', name], `${who}: no port in ports, expose or a health check: port 80 is a guess, set it`);
    ctx.comment(`services.${who}.port`, 'a guess: compose named no port; set the port the app listens on');
  }
  c.port = res.port ?? 80;
  if (healthPath) c.health = { path: healthPath };
  else {
    c.health = { path: '/' };
    ctx.decide(['services', name], `${who}: no HTTP health check in compose: health.path / is a guess, set the app's`);
    ctx.comment(`services.${who}.health`, "a guess: point it at the app's health endpoint");
  }
  res.config = order(c);
  return res;
}

function envPort(svc: JsonMap): number | undefined {
  const env = svc.environment;
  const p = isMap(env) ? Number(env.PORT) : Number.NaN;
  return Number.isInteger(p) && p > 0 ? p : undefined;
}

function convertDeploy(ctx: Ctx, at: Path, who: string, c: JsonMap): void {
  const d = ctx.get(at);
  for (const k of Object.keys(isMap(d) ? d : {})) {
    const v = isMap(d) ? d[k] : undefined;
    if (k === 'replicas' && typeof v === 'number') {
      c.instances = Math.min(16, Math.max(1, v));
      ctx.decide([...at, k], `${who}.deploy.replicas: ${c.instances} instances per colour`);
    } else ctx.refuse([...at, k], `${who}.deploy.${k}: switchyard has no ${k} (only replicas -> instances)`);
  }
}

const ORDER = ['build', 'image', 'port', 'command', 'environment', 'env_file', 'volumes', 'instances', 'restart'];
const order = (c: JsonMap): JsonMap => {
  const keys = [...ORDER.filter((k) => k in c), ...Object.keys(c).filter((k) => !ORDER.includes(k))];
  return Object.fromEntries(keys.map((k) => [k, c[k] as Json]));
};
