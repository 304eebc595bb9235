/**
 * The service keys an app service and a shared one convert the same way: build, environment,
 * env_file, volumes, restart, command and stop_grace_period.
 */
import type { Ctx } from './context.js';
import {
  convertBuild,
  convertCommand,
  convertEnv,
  convertEnvFile,
  convertRestart,
  convertStop,
  convertVolumes,
} from './keys.js';
import type { JsonMap, Path } from './types.js';

/**
 * Converts `key` (at `at`) into `c` when it is one of the common keys; false for any other key.
 * `drop`: environment keys switchyard sets itself (ENVIRONMENT_NAME of a hand-made blue/green file).
 */
export function convertCommonKey(ctx: Ctx, key: string, at: Path, who: string, c: JsonMap, drop?: string[]): boolean {
  const set = (name: string, v: JsonMap[string] | undefined, keep = v !== undefined) => {
    if (keep) c[name] = v as JsonMap[string];
  };
  switch (key) {
    case 'build':
      set('build', convertBuild(ctx, at, who));
      return true;
    case 'environment': {
      const env = convertEnv(ctx, at, who, drop);
      set('environment', env, env !== undefined && Object.keys(env).length > 0);
      return true;
    }
    case 'env_file':
      set('env_file', convertEnvFile(ctx, at, who));
      return true;
    case 'volumes': {
      const v = convertVolumes(ctx, at, who);
      set('volumes', v, v.length > 0);
      return true;
    }
    case 'restart':
      set('restart', convertRestart(ctx, at, who));
      return true;
    case 'command':
      set('command', convertCommand(ctx, at));
      return true;
    case 'stop_grace_period':
      c.stopTimeout = convertStop(ctx, at) ?? null;
      return true;
    default:
      return false;
  }
}
