/**
 * The service keys app and shared services convert alike: build, environment, env_file, volumes,
 * restart, command, stop_grace_period. Each returns the switchyard value, or undefined when the
 * key is left out (with its note).
 */
import { SECRET_NAME } from '../config/env.js';
import type { Ctx } from './context.js';
import { toDuration } from './health.js';
import { parseMount } from './mounts.js';
import { rebaseMount } from './paths.js';
import { isMap, type Json, type JsonMap, type Path, setKey } from './types.js';

const CREDENTIALS_IN_URL = /:\/\/[^:/@\s]+:[^@/\s]+@/;
/** As switchyard's loader: values shorter than this ("1", "dev") are not hidden as secrets. */
const MIN_SECRET_LENGTH = 4;

const isClearSecret = (k: string, raw: string) =>
  !raw.includes('$') && ((SECRET_NAME.test(k) && raw.length >= MIN_SECRET_LENGTH) || CREDENTIALS_IN_URL.test(raw));

export function convertEnv(ctx: Ctx, at: Path, who: string, drop: string[] = []): JsonMap | undefined {
  const env = ctx.get(at);
  if (!isMap(env)) return undefined;
  const out: JsonMap = {};
  for (const [k, v] of Object.entries(env)) {
    const here = [...at, k];
    if (drop.includes(k)) {
      ctx.decide(here, `${who}.environment.${k}: left out: switchyard sets it for each colour`);
      continue;
    }
    const raw = ctx.out(here);
    if (v === null || raw === undefined || raw === null) {
      setKey(out, k, `\${${k}}`);
      ctx.decide(here, `${who}.environment.${k}: passed from the environment as \${${k}}`);
    } else if (typeof raw === 'string' && isClearSecret(k, raw)) {
      setKey(out, k, `\${${k}}`);
      ctx.decide(
        here,
        `${who}.environment.${k}: a secret in clear: written as \${${k}}; set it in the environment or an env_file`,
      );
    } else setKey(out, k, raw);
  }
  return out;
}

export function convertEnvFile(ctx: Ctx, at: Path, who: string): string | undefined {
  const list = ctx.get(at);
  if (!Array.isArray(list) || list.length === 0) return undefined;
  const pathOf = (i: number) => {
    const item = ctx.get([...at, i]);
    return isMap(item) ? ctx.out([...at, i, 'path']) : ctx.out([...at, i]);
  };
  for (let j = 1; j < list.length; j++)
    ctx.refuse([...at, j], `${who}.env_file: switchyard takes one env_file per service; ${pathOf(j)} is not read`);
  const first = list[0];
  if (isMap(first) && first.required === false)
    ctx.decide([...at, 0], `${who}.env_file: required: false is not kept (switchyard needs the file)`);
  const p = pathOf(0);
  return typeof p === 'string' ? ctx.hostPath(p) : undefined;
}

export function convertVolumes(ctx: Ctx, at: Path, who: string): string[] {
  const list = ctx.get(at);
  if (!Array.isArray(list)) return [];
  const out: string[] = [];
  list.forEach((item, i) => {
    const m = parseMount(item, i);
    const here = [...at, i];
    if (!m || m.type === 'tmpfs' || m.type === 'other' || m.source === undefined || m.extra.length > 0) {
      ctx.refuse(
        here,
        `${who}.volumes.${i}: ${JSON.stringify(item)}: switchyard mounts only "name:/path" or "./dir:/path" (":ro")`,
      );
      return;
    }
    const raw = ctx.out(here);
    const source = m.type === 'bind' ? ctx.hostPath(m.source, true) : m.source;
    const text =
      typeof raw === 'string'
        ? rebaseMount(raw, ctx.project, ctx.outDir)
        : `${source}:${m.target}${m.readOnly ? ':ro' : ''}`;
    out.push(text);
    if (m.type === 'volume')
      ctx.decide(here, `${who}.volumes.${i}: named volume ${m.source} becomes <app>-${m.source} (copy its data over)`);
  });
  return out;
}

export function convertRestart(ctx: Ctx, at: Path, who: string): string | undefined {
  const v = ctx.get(at);
  if (typeof v !== 'string') return undefined;
  if (/^on-failure:\d+$/.test(v)) {
    ctx.refuse(at, `${who}.restart: ${v}: switchyard has no retry limit; written as on-failure`);
    return 'on-failure';
  }
  return v;
}

/** A command string split as compose splits it (POSIX shell words), with no shell. */
export function shellWords(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let has = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c === "'" || c === '"') {
      const end = s.indexOf(c, i + 1);
      cur += s.slice(i + 1, end < 0 ? s.length : end);
      i = end < 0 ? s.length : end;
      has = true;
    } else if (c === '\\' && i + 1 < s.length) {
      cur += s[++i];
      has = true;
    } else if (/\s/.test(c)) {
      if (has) out.push(cur);
      cur = '';
      has = false;
    } else {
      cur += c;
      has = true;
    }
  }
  if (has) out.push(cur);
  return out;
}

export function convertCommand(ctx: Ctx, at: Path): Json[] | undefined {
  const raw = ctx.out(at);
  if (typeof raw === 'string') return shellWords(raw);
  if (Array.isArray(raw)) return raw.map((_, i) => ctx.out([...at, i]) ?? '');
  return undefined;
}

export function convertBuild(ctx: Ctx, at: Path, who: string): JsonMap | undefined {
  const b = ctx.get(at);
  if (!isMap(b)) return undefined;
  const out: JsonMap = {};
  for (const k of Object.keys(b)) {
    if (k === 'context') out[k] = ctx.hostPath(String(ctx.out([...at, k]) ?? '.'));
    else if (k === 'dockerfile') out[k] = ctx.out([...at, k]) ?? null;
    else if (k === 'args') {
      const args = convertEnv(ctx, [...at, 'args'], `${who}.build`);
      if (args) out.args = args;
    } else ctx.refuse([...at, k], `${who}.build.${k}: switchyard's build takes context, dockerfile and args only`);
  }
  if (out.context === undefined) out.context = ctx.hostPath('.');
  return out;
}

export function convertStop(ctx: Ctx, at: Path): Json | undefined {
  return toDuration(ctx.out(at));
}
