/** The environment and folders every process of a service gets, build and run alike. */
import path from 'node:path';
import type { ProjectPaths } from '../../state/paths.js';
import type { RuntimeContext } from '../types.js';

/** process.env, then the service's configured env, then what switchyard itself guarantees. */
export function baseEnv(ctx: RuntimeContext, service: string): NodeJS.ProcessEnv {
  const configured = ctx.config.services[service]?.env ?? {};
  return {
    ...process.env,
    ...configured,
    ...(ctx.serviceEnv[service] ?? {}),
    // Services run inside a release snapshot; this lets them find shared data in the project.
    SWITCHYARD_PROJECT_DIR: ctx.paths.root,
  };
}

export function serviceDir(paths: ProjectPaths, release: string, service: string): string {
  return path.join(paths.release(release), service);
}
