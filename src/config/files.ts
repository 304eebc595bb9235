/**
 * The files and folders a validated config names must be there: each service's folder and
 * env_file, the Docker build contexts and Dockerfiles, shared services' env_file, nginx's TLS
 * certificate and key. Checked after the schema and the rules (load.ts), so that a missing file is
 * a config error (exit 2) before anything runs, not a failure halfway through a deploy. The only
 * part of config validation that reads the disk.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import type { Problem } from './format-issues.js';
import type { Config, DockerBuildConfig } from './schema.js';

type Kind = 'file' | 'dir' | 'other' | 'unreadable' | undefined;

/** Errors that mean "there is nothing at that path" (a NUL byte or an overlong name cannot name anything). */
const MISSING = new Set(['ENOENT', 'ENOTDIR', 'ENAMETOOLONG', 'ELOOP', 'ERR_INVALID_ARG_VALUE']);

function kindOf(file: string): Kind {
  let st: ReturnType<typeof statSync> | undefined;
  try {
    st = statSync(file);
  } catch (e) {
    // Anything else (EACCES, EIO) is reported as such, never taken for a missing file.
    return MISSING.has(String((e as NodeJS.ErrnoException).code)) ? undefined : 'unreadable';
  }
  return st.isFile() ? 'file' : st.isDirectory() ? 'dir' : 'other';
}

const wrongKind = (kind: Kind, expected: 'file' | 'folder'): string =>
  kind === 'unreadable'
    ? 'cannot be checked (permission denied or unreadable)'
    : kind
      ? `is not a ${expected}`
      : `${expected} not found`;

function fileExists(at: string, rel: string, projectDir: string): Problem[] {
  const kind = kindOf(path.resolve(projectDir, rel));
  return kind === 'file' ? [] : [{ path: at, message: wrongKind(kind, 'file'), got: rel }];
}

function buildFilesExist(
  at: string,
  b: Pick<DockerBuildConfig, 'context' | 'dockerfile'>,
  projectDir: string,
): Problem[] {
  const context = path.resolve(projectDir, b.context);
  const kind = kindOf(context);
  if (kind !== 'dir')
    return [
      { path: at, message: kind ? 'build context is not a folder' : 'build context folder not found', got: b.context },
    ];
  const dockerfile = b.dockerfile ?? 'Dockerfile';
  const dkind = kindOf(path.resolve(context, dockerfile));
  return dkind === 'file'
    ? []
    : [
        {
          path: `${at}.dockerfile`,
          message: `${dkind ? 'is not a file' : 'file not found'} (relative to the build context ${b.context})`,
          got: dockerfile,
        },
      ];
}

/** Every file or folder the config names that is missing or of the wrong kind, relative to `projectDir`. */
export function fileProblems(c: Config, projectDir: string): Problem[] {
  const out: Problem[] = [];
  for (const [name, svc] of Object.entries(c.services)) {
    const cwdKind = kindOf(path.resolve(projectDir, svc.cwd));
    if (cwdKind !== 'dir')
      out.push({
        path: `services.${name}.cwd`,
        message: cwdKind ? 'is not a folder' : 'folder not found',
        got: svc.cwd,
      });
    if (svc.env_file !== undefined) out.push(...fileExists(`services.${name}.env_file`, svc.env_file, projectDir));
    if (c.runtime === 'docker' && svc.dockerBuild)
      out.push(...buildFilesExist(`services.${name}.build`, svc.dockerBuild, projectDir));
  }
  if (c.runtime === 'docker') {
    for (const [name, s] of Object.entries(c.shared)) {
      const build = typeof s.build === 'string' ? { context: s.build } : s.build;
      if (build) out.push(...buildFilesExist(`shared.${name}.build`, build, projectDir));
      if (s.env_file !== undefined) {
        // One message for any kind of wrong (as before: a shared env_file is read by Docker itself).
        if (kindOf(path.resolve(projectDir, s.env_file)) !== 'file')
          out.push({ path: `shared.${name}.env_file`, message: 'file not found', got: s.env_file });
      }
    }
  }
  if (c.proxy.kind === 'nginx' && c.proxy.tls) out.push(...tlsFilesExist(c, projectDir));
  return out;
}

/** nginx's certificate and key: a missing one is a config error, not an `nginx -t` failure mid-deploy. */
export function tlsFilesExist(c: Config, projectDir: string): Problem[] {
  if (c.proxy.kind !== 'nginx' || !c.proxy.tls) return [];
  const out: Problem[] = [];
  for (const k of ['cert', 'key'] as const) {
    const v = c.proxy.tls[k];
    if (kindOf(path.resolve(projectDir, v)) !== 'file')
      out.push({ path: `proxy.tls.${k}`, message: 'file not found', got: v });
  }
  return out;
}
