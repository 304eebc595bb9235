/**
 * The compose project as `docker compose` reads it: its files found and merged, interpolated with
 * the environment over .env, validated against the Compose Specification, its active profiles
 * applied and its depends_on checked.
 */
import path from 'node:path';
import { Ctx } from './context.js';
import { defaultComposeFiles, readProjectDotenv, relative } from './files.js';
import { interpolateModel } from './interpolate.js';
import { mergeFiles } from './merge.js';
import { normalizeFile } from './normalize.js';
import { parseComposeFile } from './parse.js';
import type { Vars } from './template.js';
import { composeError, isMap, type JsonMap } from './types.js';
import { validateCompose } from './validate.js';

export interface Project {
  ctx: Ctx;
  files: string[];
  hasDotenv: boolean;
  /** Active services, in file order. */
  active: string[];
}

export interface ProjectOptions {
  /** Where `files` are relative to, and the notes' file names; the compose files are looked for here. */
  dir: string;
  files?: string[];
  env?: Vars;
  /** The folder switchyard.yml is written to (default: the project folder). */
  outDir?: string;
}

/**
 * The project folder is compose's: that of the first file named, else `dir`. Its .env is read, and
 * relative paths in the compose files start there.
 */
export function readProject(opts: ProjectOptions): Project {
  const dir = path.resolve(opts.dir);
  const named = opts.files?.length ? opts.files.map((f) => relative(dir, f)) : undefined;
  const project = named ? path.dirname(path.resolve(dir, named[0] as string)) : dir;
  const dotenv = readProjectDotenv(project);
  const env = opts.env ?? process.env;
  const vars: Vars = { ...(dotenv ?? {}) };
  for (const [k, v] of Object.entries(env)) if (v !== undefined) vars[k] = v;
  const files = named ?? defaultComposeFiles(dir, vars);
  const parsed = files.map((f) => parseComposeFile(dir, f));
  for (const f of parsed) normalizeFile(f);
  const model = mergeFiles(parsed);
  const { value, unset } = interpolateModel(model, vars);
  validateCompose(model, value);
  const outDir = path.resolve(opts.outDir ?? project);
  const ctx = new Ctx(dir, model, value as JsonMap, vars, project, outDir);
  const services = isMap(ctx.val.services) ? ctx.val.services : {};
  const profiles = (vars.COMPOSE_PROFILES ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  const isActive = (name: string) => {
    const svc = services[name];
    const own = isMap(svc) && Array.isArray(svc.profiles) ? svc.profiles.map(String) : [];
    return own.length === 0 || own.some((p) => profiles.includes(p) || profiles.includes('*'));
  };
  const active = Object.keys(services).filter(isActive);
  for (const name of Object.keys(services)) {
    const svc = services[name];
    const own = isMap(svc) && Array.isArray(svc.profiles) ? svc.profiles.join(', ') : '';
    if (!active.includes(name))
      ctx.decide(
        ['services', name],
        `services.${name}: profile ${own} is not active (COMPOSE_PROFILES): not converted`,
      );
    else if (own) ctx.decide(['services', name, 'profiles'], `services.${name}: profile ${own} is active: converted`);
  }
  for (const name of active) {
    const svc = services[name];
    if (isMap(svc) && svc.build === undefined && svc.image === undefined)
      throw composeError(
        ctx.loc(['services', name]),
        `services.${name}: needs "build" or "image" (compose can't run it)`,
      );
    checkDependencies(ctx, name, services, active);
  }
  const seen = new Set<string>();
  for (const u of unset) {
    const [top, svc] = u.at;
    if (seen.has(u.name) || (top === 'services' && !active.includes(String(svc)))) continue;
    seen.add(u.name);
    ctx.decide(u.at, `variable ${u.name} is not set: compose reads it as empty; switchyard will ask for it`);
  }
  return { ctx, files, hasDotenv: dotenv !== undefined, active };
}

function checkDependencies(ctx: Ctx, name: string, services: JsonMap, active: string[]): void {
  const svc = services[name];
  const deps = isMap(svc) && isMap(svc.depends_on) ? svc.depends_on : {};
  for (const [dep, spec] of Object.entries(deps)) {
    const at = ['services', name, 'depends_on', dep];
    const optional = isMap(spec) && spec.required === false;
    if (!(dep in services)) {
      if (optional) continue;
      throw composeError(ctx.loc(at), `services.${name} depends on "${dep}", which is not a service`);
    }
    if (!active.includes(dep)) {
      if (optional) {
        ctx.decide(at, `services.${name}: depends_on ${dep} (required: false) is not active: ignored`);
        continue;
      }
      throw composeError(
        ctx.loc(at),
        `services.${name} depends on "${dep}", whose profile is not active`,
        `activate its profile (COMPOSE_PROFILES=...) or drop the dependency`,
      );
    }
  }
}
