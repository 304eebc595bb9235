/**
 * The files and folders a validated config names must be there: each service's folder and
 * env_file, the Docker build contexts and Dockerfiles, shared services' env_file, nginx's TLS
 * certificate and key, the swarm manager's TLS files. Checked after the schema and the rules
 * (load.ts), so that a missing file is a config error (exit 2) before anything runs, not a failure
 * halfway through a deploy. The only part of config validation that reads the disk.
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

/** What is wrong with a path that should be a `want`, in the words every check here uses. */
function wrong(kind: Kind, want: 'file' | 'dir'): string | undefined {
  if (kind === want) return undefined;
  const noun = want === 'dir' ? 'folder' : 'file';
  if (kind === 'unreadable') return 'cannot be checked (permission denied or unreadable)';
  return kind ? `is not a ${noun}` : `${noun} not found`;
}

/** A problem at `at` when `rel` (relative to `base`) is not a `want`; `say` words the message. */
function expect(at: string, base: string, rel: string, want: 'file' | 'dir', say = (m: string) => m): Problem[] {
  const m = wrong(kindOf(path.resolve(base, rel)), want);
  return m === undefined ? [] : [{ path: at, message: say(m), got: rel }];
}

function buildFilesExist(
  at: string,
  b: Pick<DockerBuildConfig, 'context' | 'dockerfile'>,
  projectDir: string,
): Problem[] {
  const context = expect(at, projectDir, b.context, 'dir', (m) => `build context ${m}`);
  if (context.length) return context;
  const inContext = (m: string) => `${m} (relative to the build context ${b.context})`;
  return expect(
    `${at}.dockerfile`,
    path.resolve(projectDir, b.context),
    b.dockerfile ?? 'Dockerfile',
    'file',
    inContext,
  );
}

/** Every file or folder the config names that is missing or of the wrong kind, relative to `projectDir`. */
export function fileProblems(c: Config, projectDir: string): Problem[] {
  const out: Problem[] = [];
  for (const [name, svc] of Object.entries(c.services)) {
    out.push(...expect(`services.${name}.cwd`, projectDir, svc.cwd, 'dir'));
    if (svc.env_file !== undefined) out.push(...expect(`services.${name}.env_file`, projectDir, svc.env_file, 'file'));
    if ((c.runtime === 'docker' || c.runtime === 'swarm') && svc.dockerBuild)
      out.push(...buildFilesExist(`services.${name}.build`, svc.dockerBuild, projectDir));
  }
  if (c.runtime === 'docker') {
    for (const [name, s] of Object.entries(c.shared)) {
      const build = typeof s.build === 'string' ? { context: s.build } : s.build;
      if (build) out.push(...buildFilesExist(`shared.${name}.build`, build, projectDir));
      if (s.env_file !== undefined) out.push(...expect(`shared.${name}.env_file`, projectDir, s.env_file, 'file'));
    }
  }
  out.push(...tlsFilesExist(c, projectDir), ...swarmTlsFilesExist(c, projectDir));
  return out;
}

/** The swarm manager's CA, certificate and key (runtime/swarm/connect.ts reads them). */
export function swarmTlsFilesExist(c: Config, projectDir: string): Problem[] {
  const tls = c.swarm?.tls;
  if (!tls) return [];
  return (['ca', 'cert', 'key'] as const).flatMap((k) => expect(`swarm.tls.${k}`, projectDir, tls[k], 'file'));
}

/** nginx's certificate and key: a missing one is a config error, not an `nginx -t` failure mid-deploy. */
export function tlsFilesExist(c: Config, projectDir: string): Problem[] {
  if (c.proxy.kind !== 'nginx' || !c.proxy.tls) return [];
  const { tls } = c.proxy;
  return (['cert', 'key'] as const).flatMap((k) => expect(`proxy.tls.${k}`, projectDir, tls[k], 'file'));
}
