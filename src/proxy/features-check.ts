/**
 * Validation of what the control API and the snapshot carry beyond routes and backends: the
 * features (preview, stickiness, allowlist), a canary split and maintenance state. Everything
 * here ends up in headers or listen calls, so it is checked as strictly as the config schema.
 */
import type { ProxyFeatures, PreviewMatch } from './features.js';
import { isColour } from '../config/schema.js';
import { parseIpOrCidr } from '../config/traffic-schema.js';
import { SwitchyardError } from '../errors.js';
import { checkPercent } from './transitions.js';
import type { Canary, Maintenance } from './types.js';
import { checkMaintenanceMessage } from './maintenance-page.js';

function fail(what: string): never {
  throw new SwitchyardError('PROXY_FAILED', `invalid proxy ${what}`);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/;
const HEADER = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/;
const PREVIEW_TOKEN = /^[\u0021-\u007e]{1,200}$/;
/** A year: more is surely a mistake. */
const MAX_RETRY_AFTER_S = 365 * 24 * 3600;

export function checkBoolean(v: unknown, what: string): boolean {
  if (typeof v !== 'boolean') fail(`${what}: expected true or false`);
  return v;
}

function checkPreviewMatch(v: unknown): PreviewMatch | null {
  if (v === null) return null;
  if (!isObject(v)) fail('features.previewMatch: expected { header?, cookie?, token } or null');
  if (v.header === undefined && v.cookie === undefined) fail('features.previewMatch: expected a header or a cookie');
  if (v.header !== undefined && (typeof v.header !== 'string' || !HEADER.test(v.header)))
    fail('features.previewMatch.header: expected a header name');
  if (v.cookie !== undefined && (typeof v.cookie !== 'string' || !TOKEN.test(v.cookie)))
    fail('features.previewMatch.cookie: expected a cookie name');
  if (typeof v.token !== 'string' || !PREVIEW_TOKEN.test(v.token) || /[;,"\\]/.test(v.token)) {
    fail('features.previewMatch.token: expected 1-200 printable ASCII characters without spaces, ; , " or \\');
  }
  return {
    ...(v.header === undefined ? {} : { header: v.header as string }),
    ...(v.cookie === undefined ? {} : { cookie: v.cookie as string }),
    token: v.token,
  };
}

export function checkFeatures(v: unknown): ProxyFeatures {
  if (!isObject(v)) fail('features: expected an object');
  let preview: ProxyFeatures['preview'] = null;
  if (v.preview !== null) {
    const p = v.preview;
    // Port 0 (any free port) is accepted for tests that run the server in-process.
    if (
      !isObject(p) ||
      typeof p.host !== 'string' ||
      p.host === '' ||
      typeof p.port !== 'number' ||
      !Number.isInteger(p.port) ||
      p.port < 0 ||
      p.port > 65535
    ) {
      fail('features.preview: expected { host, port } or null');
    }
    preview = { host: p.host, port: p.port as number };
  }
  if (v.sticky !== 'cookie' && v.sticky !== 'address') fail('features.sticky: expected "cookie" or "address"');
  if (typeof v.stickyCookie !== 'string' || !TOKEN.test(v.stickyCookie))
    fail('features.stickyCookie: expected a cookie name');
  if (!Array.isArray(v.maintenanceAllow) || v.maintenanceAllow.length > 10_000)
    fail('features.maintenanceAllow: expected a list of addresses');
  const allow = v.maintenanceAllow.map((a, i) => {
    if (typeof a !== 'string' || parseIpOrCidr(a) === undefined)
      fail(`features.maintenanceAllow #${i + 1}: expected an IP address or a CIDR block`);
    return a;
  });
  const r = v.retryAfterS;
  if (typeof r !== 'number' || !Number.isInteger(r) || r < 1 || r > MAX_RETRY_AFTER_S)
    fail('features.retryAfterS: expected whole seconds >= 1');
  return {
    preview,
    previewMatch: checkPreviewMatch(v.previewMatch),
    sticky: v.sticky,
    stickyCookie: v.stickyCookie,
    maintenanceAllow: allow,
    retryAfterS: r,
  };
}

export function checkCanary(v: unknown): Canary | null {
  if (v === null || v === undefined) return null;
  if (!isObject(v)) fail('state: canary');
  const percent = checkPercent(v.percent);
  if (!isColour(v.colour)) fail('state: canary colour');
  return percent === 0 ? null : { colour: v.colour, percent };
}

export function checkMaintenanceState(v: unknown): Maintenance | null {
  if (v === null || v === undefined) return null;
  if (!isObject(v) || typeof v.since !== 'string' || Number.isNaN(Date.parse(v.since))) fail('state: maintenance');
  return { message: checkMaintenanceMessage(v.message), since: v.since };
}
