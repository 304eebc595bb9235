/**
 * The parts of nginx.conf for canary splits, preview, maintenance and counting. Like the colour,
 * each is decided per request from files (canary.ts, maintenance.ts, watch.ts), so turning them on
 * or off never reloads nginx; only the features (preview listener, matcher, stickiness, allowlist)
 * are rendered. Pure, like render.ts.
 *
 * Per request on the public server, in this order (nginx `if` cannot nest, so each step sets
 * variables the next one reads):
 *   1. $sy_colour = the active colour (green.active), $sy_other = the inactive one;
 *   2. canary: the client's bucket (split_clients over its sticky key) has a file under
 *      split/<inactive>/ -> the inactive colour; a cookie-less client gets the sticky cookie while
 *      a split to the inactive colour exists;
 *   3. preview header/cookie carrying the token -> the inactive colour;
 *   4. counting on (watch.on) -> the request is logged;
 *   5. maintenance on (maintenance.on) and the client outside the allowlist -> 503 and the page.
 */
import net from 'node:net';
import { SwitchyardError } from '../../errors.js';
import type { ProxyFeatures } from '../features.js';
import { LOG_FORMAT, LOG_FORMAT_NAME } from './access-log.js';
import { geoNetwork } from './allowlist.js';
import type { NginxFiles } from './files.js';
import { DOLLAR_VARIABLE, hostPort, q, qt, qv, regexLiteral } from './syntax.js';

/** Where blocked clients are sent internally for the page (a client asking for it gets 404). */
export const MAINTENANCE_URI = '/.switchyard/maintenance';

const COOKIE_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/;
/** $http_<name> exists only for letters, digits and "-"; nginx drops headers with "_" by default. */
const NGINX_HEADER = /^[A-Za-z0-9-]{1,256}$/;
const TOKEN = /^[\u0021-\u007e]{1,200}$/;
const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,252}[A-Za-z0-9])?$/;
const MAX_RETRY_AFTER_S = 365 * 24 * 3600;

function invalid(what: string, hint = 'fix proxy in switchyard.yml'): never {
  throw new SwitchyardError('PROXY_FAILED', `nginx cannot use ${what}`, { hint });
}

/** Everything of the features that is rendered, checked again here (the schema checked it first). */
export function checkFeatures(f: ProxyFeatures): ProxyFeatures {
  if (f.sticky !== 'cookie' && f.sticky !== 'address') invalid(`sticky: ${JSON.stringify(f.sticky)}`);
  if (!COOKIE_NAME.test(f.stickyCookie)) invalid(`stickyCookie ${JSON.stringify(f.stickyCookie)}: not a cookie name`);
  if (!Number.isInteger(f.retryAfterS) || f.retryAfterS < 1 || f.retryAfterS > MAX_RETRY_AFTER_S)
    invalid(`maintenance.retryAfter of ${f.retryAfterS} s`);
  for (const a of f.maintenanceAllow) geoNetwork(a);
  if (f.preview) {
    const { host, port } = f.preview;
    if (net.isIP(host) === 0 && !HOSTNAME.test(host))
      invalid(`preview.host ${JSON.stringify(host)}: expected an IP address or a host name`);
    if (!Number.isInteger(port) || port < 1 || port > 65535) invalid(`listen.preview ${port}`);
  }
  const m = f.previewMatch;
  if (m) {
    if (m.header === undefined && m.cookie === undefined) invalid('preview: a token without a header or cookie');
    if (m.header !== undefined && !NGINX_HEADER.test(m.header)) {
      invalid(
        `preview.header ${JSON.stringify(m.header)}`,
        'with nginx the preview header may only have letters, digits and "-" (nginx ignores headers with "_")',
      );
    }
    if (m.cookie !== undefined && !COOKIE_NAME.test(m.cookie))
      invalid(`preview.cookie ${JSON.stringify(m.cookie)}: not a cookie name`);
    if (!TOKEN.test(m.token) || /[;,"\\]/.test(m.token))
      invalid('preview.token: expected printable ASCII without spaces, ; , " or \\');
  }
  return f;
}

/** Matches cookie `name` in a Cookie header ($http_cookie: every Cookie header, joined by "; "). */
const cookieRegex = (name: string, value: string) => `~(?:^|;)\\s*${regexLiteral(name)}=${value}`;

function stickyLines(f: ProxyFeatures): string[] {
  const buckets = [...Array.from({ length: 99 }, (_, b) => `    1% ${b};`), '    * 99;'];
  if (f.sticky === 'address') return ['  split_clients "${remote_addr}" $sy_bucket {', ...buckets, '  }'];
  const has = cookieRegex(f.stickyCookie, '(?<sy_sticky>[^;]+)');
  const hasAny = cookieRegex(f.stickyCookie, '[^;]');
  return [
    "  # The sticky key: the canary cookie, or (first visit) this request's id, which the cookie then carries.",
    '  map $http_cookie $sy_key {',
    '    default $request_id;',
    `    ${q(has)} $sy_sticky;`,
    '  }',
    '  map $http_cookie $sy_new_cookie {',
    `    default ${qt(`${f.stickyCookie}=`, '$request_id; Path=/; HttpOnly; SameSite=Lax')};`,
    `    ${q(hasAny)} "";`,
    '  }',
    '  split_clients "${sy_key}" $sy_bucket {',
    ...buckets,
    '  }',
  ];
}

function previewMaps(f: ProxyFeatures): string[] {
  const m = f.previewMatch;
  if (!m) return [];
  const out: string[] = [];
  if (m.header !== undefined) {
    const variable = `$http_${m.header.toLowerCase().replace(/-/g, '_')}`;
    out.push(
      `  map ${variable} $sy_preview_header {`,
      '    default "";',
      `    ${q(`~^${regexLiteral(m.token)}$`)} 1;`,
      '  }',
    );
  }
  if (m.cookie !== undefined) {
    const re = cookieRegex(m.cookie, `${regexLiteral(m.token)}\\s*(?:;|$)`);
    out.push('  map $http_cookie $sy_preview_cookie {', '    default "";', `    ${q(re)} 1;`, '  }');
  }
  return out;
}

/** http-level: the log format, the sticky bucket, the preview matchers and the allowlist. */
export function trafficHttpLines(f: ProxyFeatures): string[] {
  checkFeatures(f);
  return [
    '  # Canary, preview, maintenance and counting: switched by files next to green.active, never by a reload.',
    ...DOLLAR_VARIABLE,
    `  log_format ${LOG_FORMAT_NAME} escape=json ${LOG_FORMAT};`,
    ...stickyLines(f),
    ...previewMaps(f),
    '  geo $sy_maint_block {',
    '    default 1;',
    ...f.maintenanceAllow.map((a) => `    ${geoNetwork(a)} 0;`),
    '  }',
  ];
}

/** The public server's per-request choice (before its locations). */
export function publicSelection(files: NginxFiles, f: ProxyFeatures): string[] {
  const when = (cond: string, body: string[]) => [`    if (${cond}) {`, ...body.map((l) => `      ${l}`), '    }'];
  const toOther = ['set $sy_colour $sy_other;'];
  const m = f.previewMatch;
  return [
    '    set $sy_colour blue;',
    '    set $sy_other green;',
    ...when(`-f ${qv(files.flag)}`, ['set $sy_colour green;', 'set $sy_other blue;']),
    ...when(`-f ${qt(`${files.split}/`, '$sy_other/$sy_bucket')}`, toOther),
    ...(f.sticky === 'cookie'
      ? [
          '    set $sy_cookie "";',
          ...when(`-d ${qt(`${files.split}/`, '$sy_other')}`, ['set $sy_cookie $sy_new_cookie;']),
        ]
      : []),
    ...(m?.header !== undefined ? when('$sy_preview_header', toOther) : []),
    ...(m?.cookie !== undefined ? when('$sy_preview_cookie', toOther) : []),
    '    set $sy_watch "";',
    ...when(`-f ${qv(files.watchFlag)}`, ['set $sy_watch 1;']),
    '    set $sy_maint "";',
    ...when(`-f ${qv(files.maintenanceFlag)}`, ['set $sy_maint $sy_maint_block;']),
    // The page's internal redirect passes here again, with the 503 already decided ($status is
    // "000" on a request's first pass): it must not be blocked a second time.
    ...when('$status = 503', ['set $sy_maint "";']),
    ...when('$sy_maint', ['return 503;']),
    // A URI, not a named location: the redirect turns every method into GET, so POST or PUT get the page too.
    `    error_page 503 ${MAINTENANCE_URI};`,
    // Unbuffered: each line is written when its request ends, so the live watch counts requests in
    // the order they ended. Per-worker buffers (flush=1s) made it judge one worker's batch before
    // another's, a second late. It costs a write per request only while a deploy watches.
    `    access_log ${q(files.accessLog)} ${LOG_FORMAT_NAME} if=$sy_watch;`,
    '    add_header X-Switchyard-Env $sy_colour always;',
    ...(f.sticky === 'cookie' ? ['    add_header Set-Cookie $sy_cookie always;'] : []),
    `    location = ${MAINTENANCE_URI} {`,
    '      internal;',
    '      access_log off;',
    `      alias ${qv(files.maintenancePage)};`,
    '      types { }',
    '      default_type text/html;',
    '      charset utf-8;',
    '      etag off;',
    '      if_modified_since off;',
    '      max_ranges 0;',
    // Its own add_header: the colour header and the canary cookie are not inherited here.
    `      add_header Retry-After ${f.retryAfterS} always;`,
    '      add_header Cache-Control no-store always;',
    '    }',
  ];
}

/** The preview listener: the inactive colour, no canary, no maintenance, not counted. */
export function previewServer(files: NginxFiles, f: ProxyFeatures, locations: string[]): string[] {
  if (!f.preview) return [];
  return [
    '  server {',
    `    listen ${hostPort(f.preview.host, f.preview.port)};`,
    '    set $sy_colour green;',
    `    if (-f ${qv(files.flag)}) {`,
    '      set $sy_colour blue;',
    '    }',
    '    add_header X-Switchyard-Env $sy_colour always;',
    ...locations,
    '  }',
  ];
}
