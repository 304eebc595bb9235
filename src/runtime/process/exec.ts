/**
 * A command in a started service's release folder, with the environment the service itself runs
 * with (its env, env_file, PORT, ENVIRONMENT_NAME): how the migrate hook reaches the same database
 * settings as the code it migrates for.
 */
import type { Colour } from '../../config/schema.js';
import { runCommand } from '../../util/run-command.js';
import { LOOPBACK } from '../ports.js';
import type { ExecCommand, ExecOutcome, RuntimeContext } from '../types.js';
import { baseEnv, serviceDir } from './env.js';
import { readRun } from './runfile.js';

export async function execInRelease(
  ctx: RuntimeContext,
  colour: Colour,
  service: string,
  command: ExecCommand,
  opts: { env?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<ExecOutcome> {
  const run = await readRun(ctx.paths, colour);
  const svc = run?.services[service];
  if (!run || !svc) return { ok: false, detail: `${service} (${colour}) is not running` };
  const env = {
    ...baseEnv(ctx, service),
    PORT: String(svc.port),
    HOST: LOOPBACK,
    ENVIRONMENT_NAME: colour,
    SWITCHYARD_COLOUR: colour,
    SWITCHYARD_RELEASE: run.release,
    ...opts.env,
  };
  return runCommand(command, { cwd: serviceDir(ctx.paths, run.release, service), env, signal: opts.signal });
}
