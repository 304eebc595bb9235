/**
 * Cross-field checks the schema cannot express. Each rule is a small function returning problems,
 * so every problem is reported at once (in the manner of changesets' config validation).
 * Rules also run on a config that failed the schema (to report everything in one go), so they
 * read it defensively: any field may be missing or of the wrong type.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import type { Config } from './schema.js';
import type { Problem } from './format-issues.js';
import { routeFor, sortRoutes } from '../proxy/routing.js';

export interface RuleContext {
  /** Folder of the config file; relative paths are resolved against it. */
  projectDir: string;
}

export type Rule = (config: Config, ctx: RuleContext) => Problem[];

const entries = <T>(o: Record<string, T> | undefined): [string, T][] =>
  o !== null && typeof o === 'object' && !Array.isArray(o) ? Object.entries(o) : [];
const list = <T>(a: T[] | undefined): T[] => (Array.isArray(a) ? a : []);
const serviceNames = (c: Config) => entries(c.services).map(([n]) => n);

function noSuchService(name: unknown, c: Config): string {
  return `no service named ${JSON.stringify(name)} (services: ${serviceNames(c).join(', ') || 'none'})`;
}

export const routeServicesExist: Rule = (c) =>
  list(c.proxy?.routes).flatMap((r, i) =>
    typeof r?.service === 'string' && !serviceNames(c).includes(r.service)
      ? [{ path: `proxy.routes.${i}.service`, message: noSuchService(r.service, c) }]
      : [],
  );

export const routePathsUnique: Rule = (c) => {
  const seen = new Map<string, number>();
  const out: Problem[] = [];
  list(c.proxy?.routes).forEach((r, i) => {
    if (typeof r?.path !== 'string') return;
    const first = seen.get(r.path);
    if (first === undefined) seen.set(r.path, i);
    else out.push({ path: `proxy.routes.${i}.path`, message: `duplicate route; proxy.routes.${first}.path is the same`, got: r.path });
  });
  return out;
};

export const databaseServiceExists: Rule = (c) => {
  const s = c.checks?.database?.service;
  return typeof s === 'string' && !serviceNames(c).includes(s) ? [{ path: 'checks.database.service', message: noSuchService(s, c) }] : [];
};

/** Each colour of each service needs its own port, distinct from every other and from the proxy's. */
export const portsDistinct: Rule = (c) => {
  const out: Problem[] = [];
  const owner = new Map<number, string>();
  const proxyPort = c.proxy?.listen?.http;
  for (const [name, svc] of entries(c.services)) {
    const p = svc?.port;
    if (!p || typeof p !== 'object') continue;
    if (typeof p.blue === 'number' && p.blue === p.green) {
      out.push({ path: `services.${name}.port.green`, message: 'same as port.blue; each colour needs its own port', got: p.green });
      continue;
    }
    for (const colour of ['blue', 'green'] as const) {
      const n = p[colour];
      if (typeof n !== 'number') continue;
      const at = `services.${name}.port.${colour}`;
      if (n === proxyPort) out.push({ path: at, message: 'same as the proxy port (proxy.listen.http)', got: n });
      else if (owner.has(n)) out.push({ path: at, message: `already used by ${owner.get(n)}`, got: n });
      else owner.set(n, at);
    }
  }
  return out;
};

function kindOf(file: string): 'file' | 'dir' | 'other' | undefined {
  try {
    const st = statSync(file);
    return st.isFile() ? 'file' : st.isDirectory() ? 'dir' : 'other';
  } catch {
    return undefined;
  }
}

export const serviceFilesExist: Rule = (c, ctx) =>
  entries(c.services).flatMap(([name, svc]) => {
    const out: Problem[] = [];
    const cwd = typeof svc?.cwd === 'string' ? svc.cwd : '.';
    const cwdKind = kindOf(path.resolve(ctx.projectDir, cwd));
    if (cwdKind !== 'dir') out.push({ path: `services.${name}.cwd`, message: cwdKind ? 'is not a folder' : 'folder not found', got: cwd });
    if (typeof svc?.env_file === 'string') {
      const kind = kindOf(path.resolve(ctx.projectDir, svc.env_file));
      if (kind !== 'file') out.push({ path: `services.${name}.env_file`, message: kind ? 'is not a file' : 'file not found', got: svc.env_file });
    }
    return out;
  });

const TEMPLATE = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** Smoke steps: each `{{var}}` must be captured by an earlier step, and each path must reach a route. */
export const smokeStepsResolve: Rule = (c) => {
  const out: Problem[] = [];
  const captured = new Set<string>();
  const routes = sortRoutes(list(c.proxy?.routes).filter((r) => typeof r?.path === 'string'));
  list(c.checks?.smoke).forEach((step, i) => {
    if (!step || typeof step !== 'object' || !('request' in step) || !step.request) return;
    const walk = (v: unknown, at: string) => {
      if (typeof v === 'string') {
        for (const m of v.matchAll(TEMPLATE))
          if (!captured.has(m[1] as string)) out.push({ path: at, message: `{{${m[1]}}} is not captured by an earlier step` });
      } else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, `${at}.${k}`);
    };
    walk(step.request, `checks.smoke.${i}.request`);
    const p = step.request.path;
    if (typeof p === 'string' && routes.length && !routeFor(routes, p))
      out.push({ path: `checks.smoke.${i}.request.path`, message: 'no proxy route matches this path', got: p });
    for (const [k] of entries(step.capture)) captured.add(k);
  });
  return out;
};

export const rules: Rule[] = [routeServicesExist, routePathsUnique, databaseServiceExists, portsDistinct, serviceFilesExist, smokeStepsResolve];

/** Run every rule; a rule that trips over a malformed config (already reported by the schema) is skipped. */
export function runRules(config: Config, ctx: RuleContext): Problem[] {
  return rules.flatMap((rule) => {
    try {
      return rule(config, ctx);
    } catch {
      return [];
    }
  });
}
