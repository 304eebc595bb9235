/**
 * The routes a compose proxy service gives: for nginx, its mounted config's `location` blocks with
 * `proxy_pass http://<service>:<port>` or to an `upstream` naming services (a hand-made blue/green
 * pair maps to its one service); the port each service is reached on; the TLS files.
 */
import type { Ctx } from './context.js';
import { hostPathOf, type Mount, parseMount } from './mounts.js';
import { readProxyConf } from './proxy-conf.js';
import type { Loc } from './types.js';

export interface FoundRoute {
  path: string;
  service: string;
  at: Loc;
}

export interface ProxyRoutes {
  routes: FoundRoute[];
  /** Service (switchyard name) -> the port nginx sends its requests to. */
  ports: Map<string, number>;
  tls?: { cert: string; key: string };
  mounts: Mount[];
  confFiles: string[];
  /** Indexes of the volumes the config was read through. */
  confMounts: number[];
}

/** `resolve` maps a host nginx names (service, container_name, api-blue...) to a switchyard service. */
export function nginxRoutes(ctx: Ctx, proxy: string, resolve: (host: string) => string | undefined): ProxyRoutes {
  const vols = ctx.get(['services', proxy, 'volumes']);
  const mounts = (Array.isArray(vols) ? vols : []).flatMap((v, i) => parseMount(v, i) ?? []);
  const conf = readProxyConf(ctx.project, ctx.dir, mounts, (m) => ctx.loc(['services', proxy, 'volumes', m.index]));
  const { facts } = conf;
  const res: ProxyRoutes = { routes: [], ports: new Map(), mounts, confFiles: conf.files, confMounts: conf.mounts };
  const target = (hostPort: string) => {
    const [host = '', port] = hostPort.split(':');
    const service = resolve(host);
    if (service && port && /^\d+$/.test(port) && !res.ports.has(service)) res.ports.set(service, Number(port));
    return service;
  };
  for (const loc of facts.locations) {
    const at = { file: loc.file, line: loc.line };
    if (loc.modifier && loc.modifier !== '^~') {
      ctx.refuseAt(at, `nginx location ${loc.modifier} ${loc.path}: switchyard routes by path prefix only`);
      continue;
    }
    if (!loc.pass) {
      ctx.refuseAt(
        at,
        `nginx location ${loc.path}: served by nginx itself (no proxy_pass); switchyard's serves no files`,
      );
      continue;
    }
    const m = /^https?:\/\/([^/]+)(\/.*)?$/.exec(loc.pass);
    const hostPort = m?.[1] ?? '';
    const servers = facts.upstreams.get(hostPort) ?? [hostPort];
    const services = [...new Set(servers.map(target).filter((s): s is string => s !== undefined))];
    const service = services[0];
    if (!service || loc.pass.includes('$')) {
      ctx.refuseAt(at, `nginx location ${loc.path}: proxy_pass ${loc.pass} reaches no compose service`);
      continue;
    }
    if (services.length > 1)
      ctx.decideAt(at, `nginx location ${loc.path}: upstream of ${services.join(', ')}: routed to ${service}`);
    if (m?.[2] && m[2] !== '/' && m[2] !== loc.path)
      ctx.refuseAt(
        at,
        `nginx location ${loc.path}: proxy_pass rewrites the path to ${m[2]}; switchyard passes it as is`,
      );
    const path = loc.path.length > 1 ? loc.path.replace(/\/+$/, '') : loc.path;
    const same = res.routes.find((r) => r.path === path);
    if (same && same.service !== service)
      ctx.refuseAt(at, `nginx location ${loc.path}: also routed to ${same.service}; this one (${service}) is left out`);
    if (same) continue;
    res.routes.push({ path, service, at });
    ctx.decideAt(at, `nginx location ${loc.path} -> proxy route ${path} to ${service}`);
  }
  if (facts.tls.cert && facts.tls.key) {
    const cert = hostPathOf(mounts, facts.tls.cert);
    const key = hostPathOf(mounts, facts.tls.key);
    if (cert && key) res.tls = { cert: cert.host, key: key.host };
  }
  return res;
}
