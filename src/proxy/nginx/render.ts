/**
 * The whole nginx.conf, rendered from the config and the backends: a pure function (no I/O), so
 * it is unit-tested and the same inputs always give byte-identical text. The driver relies on that
 * to skip reloads when nothing changed.
 *
 * Colour selection happens per request (I3a, docs/design.md): every service has one upstream per colour,
 * and a server-level `if (-f green.active)` picks which one `proxy_pass` names. Switching is then
 * a file rename, never a reload (a reload resets keep-alive client connections). Canary splits,
 * preview, maintenance and counting work the same way (render-traffic.ts). proxy.metrics adds a
 * server of its own with nginx's stub_status page (stub-status.ts).
 */
import { COLOURS, type Colour, type NginxProxyConfig, type Route } from '../../config/schema.js';
import { NO_FEATURES, type ProxyFeatures } from '../features.js';
import { routeFor, sortRoutes } from '../../config/routes.js';
import type { Backends } from '../types.js';
import type { NginxFiles } from './files.js';
import { locationBlocks } from './locations.js';
import { previewServer, publicSelection, trafficHttpLines } from './render-traffic.js';
import { loopbackBackends, STREAM_SUFFIX, streamMaps } from './render-streams.js';
import { stubStatusServer } from './stub-status.js';
import { checkConfigPath, hostPort, q } from './syntax.js';

export interface RenderInput {
  proxy: NginxProxyConfig;
  files: NginxFiles;
  /** Every service a route may name, so each gets its two upstreams even before it has a backend. */
  services: string[];
  backends: Partial<Record<Colour, Backends>>;
  /** Absolute paths of the certificate and key, when TLS is configured. */
  tls?: { cert: string; key: string };
  /** `user` directive: only meaningful (and only rendered) when nginx starts as root. */
  user?: string;
  /** Set where the nginx version has it (1.27.4+): softens what a real reload does to keep-alive clients. */
  keepaliveMinTimeout?: boolean;
  /** false for tests that run nginx in the foreground. */
  daemon?: boolean;
  /** Preview listener and matcher, canary stickiness, maintenance allowlist (default: NO_FEATURES). */
  features?: ProxyFeatures;
  /** The swarm edge: backends by DNS name, resolved by nginx itself (see ResolvedUpstreams). */
  resolve?: ResolvedUpstreams;
}

/**
 * The swarm edge proxy (nginx/edge.ts, docs/swarm.md): a colour's tasks come and go, so its
 * backends are not addresses but one DNS name per service and colour (`tasks.<app>_<service>_<colour>`),
 * which nginx resolves per request through `resolver` (cached `valid` for a second). The names
 * never change, so neither does the config: a deploy, like a switch, never reloads nginx (I3a).
 * Each request is sent to one of the name's addresses (nginx's resolver rotates them), and to the
 * next on a refused connection (proxy_next_upstream). There is no upstream keep-alive pool.
 */
export interface ResolvedUpstreams {
  /** The DNS server (Docker's embedded one on the overlay: 127.0.0.11). */
  resolver: string;
  /** Per service, per colour: `name:port`. */
  targets: Record<string, Record<Colour, string>>;
}

const HOST_PORT = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,252}[A-Za-z0-9])?:\d{1,5}$/;

/** The variable a service's target is in (an index: a service name may hold "-"). */
const targetVar = (input: RenderInput, service: string) => `$sy_up_${input.services.indexOf(service)}`;

function resolvedUpstreams(input: RenderInput, r: ResolvedUpstreams): string[] {
  if (!/^[0-9.]+$/.test(r.resolver)) throw new Error(`nginx resolver must be an IPv4 address, not ${r.resolver}`);
  const out = [`  resolver ${r.resolver} valid=1s ipv6=off;`, '  resolver_timeout 2s;'];
  for (const service of input.services) {
    const t = r.targets[service];
    if (!t) throw new Error(`no resolved target for service ${service}`);
    for (const colour of COLOURS)
      if (!HOST_PORT.test(t[colour])) throw new Error(`not a name:port for ${service} ${colour}: ${t[colour]}`);
    out.push(
      `  map $sy_colour ${targetVar(input, service)} {`,
      `    default ${t.blue};`,
      ...COLOURS.map((c) => `    ${c} ${t[c]};`),
      '  }',
    );
  }
  return out;
}

/** A closed port marked down: nginx accepts the upstream (so `nginx -t` passes) and answers 502 at once. */
export const NO_BACKEND = 'server 127.0.0.1:1 down;';

export const upstreamName = (service: string, colour: Colour | '$sy_colour') => `sy_${service}_${colour}`;

const secs = (ms: number) => `${Math.max(1, Math.ceil(ms / 1000))}s`;

function upstreams(input: RenderInput): string[] {
  const { proxy } = input;
  if (input.resolve) return resolvedUpstreams(input, input.resolve);
  const out: string[] = [];
  for (const service of input.services) {
    for (const colour of COLOURS) {
      const list = input.backends[colour]?.[service] ?? [];
      // One server per instance, round robin. max_fails=0: a backend that failed once (restarting)
      // is never skipped for fail_timeout; a refused connection goes to the next instance
      // (proxy_next_upstream error), and only when all refuse does the client get a 502.
      const servers =
        list.length > 0
          ? list.map((b) => `    server ${hostPort(b.host, b.port)} max_fails=0;`)
          : [`    ${NO_BACKEND}`];
      out.push(
        `  upstream ${upstreamName(service, colour)} {`,
        ...servers,
        `    keepalive ${proxy.keepalive};`,
        `    keepalive_timeout ${secs(proxy.upstreamKeepaliveTimeout)};`,
        `    keepalive_requests 100000;`,
        '  }',
        // Streams: the same servers without a pool, so that a stream's connection is never reused
        // by an ordinary request (its source address would then mislead the drain: drain-count.ts).
        `  upstream ${upstreamName(service, colour)}${STREAM_SUFFIX} {`,
        ...servers,
        '  }',
      );
    }
  }
  return out;
}

function proxyLocations(input: RenderInput, routes: Route[]): string[] {
  const bind = loopbackBackends(input.backends);
  return locationBlocks(routes, (service) =>
    input.resolve
      ? [`proxy_pass http://${targetVar(input, service)};`]
      : [
          `proxy_pass http://${upstreamName(service, '$sy_colour')}$sy_stream_upstream;`,
          ...(bind ? ['proxy_bind $sy_stream_bind;'] : []),
        ],
  );
}

/** The public server's body: the colour choice (canary, preview, maintenance, counting), its header, and the routes. */
function proxiedBody(input: RenderInput, routes: Route[]): string[] {
  return [...publicSelection(input.files, input.features ?? NO_FEATURES), ...proxyLocations(input, routes)];
}

/**
 * Mozilla's "intermediate" profile, guidelines 6.0 (ssl-config.mozilla.org): TLS 1.2 + 1.3, only
 * ECDHE key exchange with AEAD ciphers on 1.2 (6.0 dropped the DHE suites), the client picks.
 * The curve list leaves out 6.0's X25519MLKEM768: OpenSSL before 3.5 does not know it, and nginx
 * would refuse the whole configuration. TLS 1.3's suites are OpenSSL's defaults, which are 6.0's.
 */
export const TLS_PROTOCOLS = 'TLSv1.2 TLSv1.3';
export const TLS_CIPHERS =
  'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:' +
  'ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:' +
  'ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305';
export const TLS_CURVES = 'X25519:prime256v1:secp384r1';

function tlsLines(tls: { cert: string; key: string }): string[] {
  return [
    `    ssl_certificate ${q(tls.cert)};`,
    `    ssl_certificate_key ${q(tls.key)};`,
    `    ssl_protocols ${TLS_PROTOCOLS};`,
    `    ssl_ciphers ${TLS_CIPHERS};`,
    `    ssl_ecdh_curve ${TLS_CURVES};`,
    '    ssl_prefer_server_ciphers off;',
    '    ssl_session_cache shared:sy_ssl:10m;',
    '    ssl_session_timeout 1d;',
    '    ssl_session_tickets off;',
  ];
}

function servers(input: RenderInput): string[] {
  const { proxy } = input;
  const routes = sortRoutes(proxy.routes);
  const preview = previewServer(input.files, input.features ?? NO_FEATURES, proxyLocations(input, routes));
  return [...publicServers(input, routes), ...preview, ...stubStatusServer(proxy.metrics)];
}

function publicServers(input: RenderInput, routes: Route[]): string[] {
  const { proxy } = input;
  const http = `    listen ${hostPort(proxy.listen.host, proxy.listen.http)};`;
  if (proxy.listen.https === undefined || !input.tls) {
    return ['  server {', http, ...proxiedBody(input, routes), '  }'];
  }
  const httpsPort = proxy.listen.https;
  // $host has no port; the https port is added unless it is the default one.
  const target = httpsPort === 443 ? 'https://$host$request_uri' : `https://$host:${httpsPort}$request_uri`;
  return [
    '  server {',
    http,
    `    return 301 ${target};`,
    '  }',
    '  server {',
    `    listen ${hostPort(proxy.listen.host, httpsPort)} ssl;`,
    ...tlsLines(input.tls),
    ...proxiedBody(input, routes),
    '  }',
  ];
}

export function renderNginxConfig(input: RenderInput): string {
  const { proxy, files } = input;
  checkConfigPath(files.dir);
  const t = (name: string) => `${files.temp}/${name}`;
  return [
    '# Rendered by switchyard: edits are overwritten.' +
      ' Colour, canary, maintenance and counting change only files next to it.',
    ...(input.user ? [`user ${input.user};`] : []),
    `daemon ${input.daemon === false ? 'off' : 'on'};`,
    `worker_processes ${proxy.workerProcesses};`,
    // Two descriptors per proxied connection (client + upstream), plus log and listen sockets.
    `worker_rlimit_nofile ${proxy.workerConnections * 2 + 64};`,
    `pid ${q(files.pid)};`,
    `error_log ${q(files.errorLog)} warn;`,
    '',
    'events {',
    `  worker_connections ${proxy.workerConnections};`,
    '}',
    '',
    'http {',
    '  server_tokens off;',
    '  access_log off;',
    '  default_type application/octet-stream;',
    `  client_body_temp_path ${q(t('client_body'))};`,
    `  proxy_temp_path ${q(t('proxy'))};`,
    `  fastcgi_temp_path ${q(t('fastcgi'))};`,
    `  uwsgi_temp_path ${q(t('uwsgi'))};`,
    `  scgi_temp_path ${q(t('scgi'))};`,
    `  client_max_body_size ${proxy.clientMaxBodySize};`,
    '  keepalive_timeout 65s;',
    '  keepalive_requests 100000;',
    ...(input.keepaliveMinTimeout ? ['  keepalive_min_timeout 5s;'] : []),
    '',
    '  # WebSocket upgrade when asked; otherwise an empty Connection keeps the upstream connection pooled.',
    '  map $http_upgrade $connection_upgrade {',
    '    default upgrade;',
    "    '' '';",
    '  }',
    '  proxy_http_version 1.1;',
    '  proxy_set_header Upgrade $http_upgrade;',
    '  proxy_set_header Connection $connection_upgrade;',
    '  proxy_set_header Host $http_host;',
    '  proxy_set_header X-Real-IP $remote_addr;',
    '  proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
    '  proxy_set_header X-Forwarded-Proto $scheme;',
    '  proxy_set_header X-Forwarded-Host $host;',
    '  # The proxy, not the backend, says which colour answered.',
    '  proxy_hide_header X-Switchyard-Env;',
    `  proxy_connect_timeout ${secs(proxy.connectTimeout)};`,
    `  proxy_read_timeout ${secs(proxy.readTimeout)};`,
    `  proxy_send_timeout ${secs(proxy.sendTimeout)};`,
    '  proxy_next_upstream error timeout;',
    '  proxy_buffering on;',
    '',
    ...trafficHttpLines(input.features ?? NO_FEATURES),
    '',
    ...(input.resolve ? [] : [...streamMaps(loopbackBackends(input.backends)), '']),
    ...upstreams(input),
    '',
    ...servers(input),
    '}',
    '',
  ].join('\n');
}

/** The services the routes name, in first-seen order (the upstreams nginx needs). */
export function routedServices(routes: Route[]): string[] {
  return [...new Set(routes.map((r) => r.service))];
}

/** Re-export for tests that check nginx matches routing.ts on a path. */
export { routeFor, sortRoutes };
