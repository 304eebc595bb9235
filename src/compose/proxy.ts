/**
 * switchyard's `proxy:` section: from the compose proxy service (nginx: `kind: nginx, mode:
 * container` with its image, listen ports and routes from its config; caddy, traefik, haproxy:
 * the built-in proxy), or, without one, the built-in proxy on the port the app was published on.
 */
import type { Ctx } from './context.js';
import { everyAddress, parsePort, type PortSpec } from './ports.js';
import { publishedPort } from './published.js';
import { whyNot } from './refusals.js';
import type { ProxyRoutes } from './routes.js';
import { program } from './signals.js';
import { isMap, type Json, type JsonMap, type Path } from './types.js';

export interface AppFront {
  name: string;
  published: { spec: PortSpec; at: Path }[];
  routeLabels: string[];
}

export interface ProxyInput {
  name: string;
  kind: 'nginx' | 'other';
  found?: ProxyRoutes;
}

const ROOT_NAMES = ['frontend', 'web', 'app', 'ui', 'client', 'www', 'site', 'front'];

export function proxySection(ctx: Ctx, proxy: ProxyInput | undefined, apps: AppFront[], handled: string[]): JsonMap {
  const out: JsonMap = { kind: proxy?.kind === 'nginx' ? 'nginx' : 'builtin' };
  if (proxy?.kind === 'nginx') out.mode = 'container';
  const listen: JsonMap = {};
  if (proxy) {
    const at = (k: string, ...r: (string | number)[]): Path => ['services', proxy.name, k, ...r];
    const svc = ctx.get(['services', proxy.name]);
    for (const k of Object.keys(isMap(svc) ? svc : {})) {
      if (handled.includes(k)) continue;
      if (k === 'image' && proxy.kind === 'nginx') {
        out.image = ctx.out(at(k)) ?? null;
        ctx.decide(at(k), `proxy: switchyard runs its own nginx from this image (nothing is pulled)`);
      } else if (k === 'image')
        ctx.decide(at(k), `proxy: ${String(isMap(svc) ? svc.image : '')} becomes switchyard's built-in proxy`);
      else if (k === 'ports') listenFrom(ctx, at(k), proxy, listen, out);
      else if (k === 'volumes') proxyVolumes(ctx, proxy, at(k));
      else if (k === 'restart')
        ctx.decide(at(k), 'proxy: switchyard restarts its proxy itself (proxy.restart: always)');
      else if (
        (k === 'command' || k === 'entrypoint') &&
        proxy.kind === 'nginx' &&
        program(isMap(svc) ? svc[k] : undefined) === 'nginx'
      )
        ctx.decide(at(k), `proxy.${k}: switchyard starts nginx itself, with the config it writes`);
      else if (proxy.kind === 'nginx') ctx.refuse(at(k), `proxy.${k}: ${whyNot(k)}`);
      else ctx.refuse(at(k), `proxy.${k}: ${String(isMap(svc) ? svc.image : '')}'s own setting: not carried over`);
    }
  } else {
    const first = apps.flatMap((a) => a.published.map((p) => ({ ...p, app: a.name })))[0];
    if (first?.spec.published && /^\d+$/.test(first.spec.published)) {
      listen.http = publishedPort(ctx, first.at, first.spec.published);
      if (everyAddress(first.spec.hostIp)) listen.host = '0.0.0.0';
      else listen.host = first.spec.hostIp ?? '127.0.0.1';
      const port = shown(listen.http, first.spec.published);
      ctx.decide(first.at, `proxy: the built-in proxy takes port ${port}, where compose published ${first.app}`);
    }
  }
  if (listen.http === undefined) {
    listen.http = 8080;
    ctx.decideAt(
      ctx.loc(proxy ? ['services', proxy.name] : ['services']),
      'proxy: no published port: listens on 8080, a guess',
    );
    ctx.comment('proxy.listen', 'a guess: compose published no port for the app');
  }
  out.listen = listen;
  out.routes = routesFor(ctx, proxy, apps);
  return out;
}

function listenFrom(ctx: Ctx, at: Path, proxy: ProxyInput, listen: JsonMap, out: JsonMap): void {
  const list = ctx.get(at);
  (Array.isArray(list) ? list : []).forEach((p, i) => {
    const spec = parsePort(p);
    const host = spec?.published;
    if (!spec || !host || !/^\d+$/.test(host)) {
      ctx.refuse([...at, i], `proxy.ports.${i}: ${JSON.stringify(p)}: the proxy needs a fixed host port`);
      return;
    }
    const tls = proxy.found?.tls;
    if (spec.target === 443 && tls && proxy.kind === 'nginx' && listen.https === undefined) {
      listen.https = publishedPort(ctx, [...at, i], host);
      out.tls = { cert: ctx.hostPath(tls.cert), key: ctx.hostPath(tls.key) };
      ctx.decide([...at, i], `proxy: HTTPS on ${shown(listen.https, host)}, with the certificate nginx's config names`);
    } else if (listen.http === undefined && spec.target !== 443) {
      listen.http = publishedPort(ctx, [...at, i], host);
      ctx.decide([...at, i], `proxy: listens on ${shown(listen.http, host)}`);
    } else {
      ctx.refuse(
        [...at, i],
        `proxy.ports.${i}: ${JSON.stringify(p)}: not carried over (one HTTP port, one HTTPS with nginx)`,
      );
      return;
    }
    const ip = everyAddress(spec.hostIp) ? '0.0.0.0' : (spec.hostIp as string);
    if (listen.host === undefined) listen.host = ip;
    if (ip === '0.0.0.0' && i === 0) ctx.comment('proxy.listen', 'compose published the proxy on every address');
  });
}

/** A port as the notes show it: `${PORT:-8080} (8080 now)` when written as a variable. */
const shown = (written: Json, now: string) => (typeof written === 'string' ? `${written} (${now} now)` : now);

function proxyVolumes(ctx: Ctx, proxy: ProxyInput, at: Path): void {
  const found = proxy.found;
  const list = ctx.get(at);
  (Array.isArray(list) ? list : []).forEach((_, i) => {
    const m = found?.mounts.find((x) => x.index === i);
    if (m && proxy.kind === 'nginx' && found?.confMounts.includes(i))
      ctx.decide([...at, i], `proxy.volumes.${i}: nginx config read for the routes; switchyard writes its own`);
    else if (m && found?.tls && [found.tls.cert, found.tls.key].some((f) => f.startsWith(m.source ?? '\0')))
      ctx.decide([...at, i], `proxy.volumes.${i}: the TLS files, named by proxy.tls`);
    else ctx.refuse([...at, i], `proxy.volumes.${i}: switchyard's proxy mounts nothing (it serves no files)`);
  });
}

function routesFor(ctx: Ctx, proxy: ProxyInput | undefined, apps: AppFront[]): Json[] {
  const from = proxy?.found?.routes ?? [];
  if (from.length) return from.map((r) => ({ path: r.path, service: r.service }));
  const labelled = apps.flatMap((a) => a.routeLabels.map((path) => ({ path, service: a.name })));
  if (labelled.length) return labelled;
  const candidates =
    apps.some((a) => a.published.length) && proxy === undefined ? apps.filter((a) => a.published.length) : apps;
  const root = candidates.find((a) => ROOT_NAMES.includes(a.name)) ?? candidates[0];
  if (!root) return [];
  const routes = [
    { path: '/', service: root.name },
    ...candidates.filter((a) => a !== root).map((a) => ({ path: `/${a.name}`, service: a.name })),
  ];
  const where = proxy ? ctx.loc(['services', proxy.name]) : ctx.loc(['services']);
  ctx.decideAt(
    where,
    `proxy.routes: ${routes.map((r) => `${r.path} -> ${r.service}`).join(', ')}: guessed, check them`,
  );
  ctx.comment('proxy.routes', 'guessed from the published services: check them');
  return routes;
}
