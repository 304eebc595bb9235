/**
 * A compose `healthcheck` as switchyard's (docker's own check, health level 2): `test` in each
 * syntax (`["CMD", ...]`, `["CMD-SHELL", "..."]`, a string, `disable: true`), interval, timeout,
 * start_period, retries. A test that fetches `http://localhost[:PORT]/path` (curl, wget, node...)
 * also gives the HTTP health path (level 3) and the port.
 */
import type { Ctx } from './context.js';
import { isMap, type Json, type JsonMap, type Path } from './types.js';

const UNITS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, ns: 0.000001 };

/** Compose durations ("1m30s", "10s", "500ms") as switchyard reads them ("90s", "500ms"). */
export function toDuration(v: Json | undefined): Json | undefined {
  if (typeof v !== 'string' || v.includes('${') || /^\d+(\.\d+)?(ms|s|m|h)?$/.test(v)) return v;
  let ms = 0;
  const rest = v.replace(/(\d+(?:\.\d+)?)(h|ms|m|s|us|ns)/g, (_, n: string, u: string) => {
    ms += Number(n) * (UNITS[u] ?? 0);
    return '';
  });
  if (rest !== '') return v;
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${Math.round(ms)}ms`;
}

const HTTP = /https?:\/\/(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\])(?::(\d+))?(\/[^\s'"|;&)\\]*)?/;

export interface HealthResult {
  healthcheck?: JsonMap;
  path?: string;
  port?: number;
}

export function convertHealthcheck(ctx: Ctx, at: Path, who: string): HealthResult {
  const hc = ctx.get(at);
  if (!isMap(hc)) return {};
  const out: JsonMap = {};
  const res: HealthResult = {};
  let test: Json[] | undefined;
  const raw = ctx.out([...at, 'test']);
  if (hc.disable === true) test = ['NONE'];
  else if (typeof raw === 'string') test = ['CMD-SHELL', raw];
  else if (Array.isArray(raw)) test = raw.map((_, i) => ctx.out([...at, 'test', i]) ?? '');
  if (test) out.test = test;
  const resolved = hc.test;
  const line = Array.isArray(resolved) ? resolved.slice(1).join(' ') : typeof resolved === 'string' ? resolved : '';
  const m = HTTP.exec(line);
  if (m) {
    res.path = m[2] ?? '/';
    if (m[1]) res.port = Number(m[1]);
    ctx.decide([...at, 'test'], `${who}.healthcheck: its HTTP check gives health.path ${res.path}`);
  }
  const keys: Record<string, string> = { interval: 'interval', timeout: 'timeout', start_period: 'startPeriod' };
  for (const [k, v] of Object.entries(hc)) {
    if (k === 'test' || k === 'disable') continue;
    if (k in keys) out[keys[k] as string] = toDuration(ctx.out([...at, k])) ?? null;
    else if (k === 'retries') out.retries = ctx.out([...at, k]) ?? null;
    else ctx.refuse([...at, k], `${who}.healthcheck.${k}: switchyard's healthcheck has no ${k}`);
    void v;
  }
  if (test) res.healthcheck = out;
  else ctx.refuse(at, `${who}.healthcheck: no test to convert (the image's HEALTHCHECK stays)`);
  return res;
}
