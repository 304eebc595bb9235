/**
 * deploy.hooks.migrate: the expand step of expand-contract, run once the target colour is healthy
 * and before any traffic moves, against the shared database. Inside a service of the target
 * (docker exec, or its release folder and env) when `service` is set, else in the project folder.
 * A failure stops the deploy before the switch and names this deploy's backup.
 */
import type { BackupMeta } from '../backup/types.js';
import type { Colour } from '../config/schema.js';
import { SwitchyardError } from '../errors.js';
import { describeArgv, toArgv } from '../runtime/process/command.js';
import { runCommand } from '../util/run-command.js';
import type { Engine } from './context.js';

/**
 * What the hook knows of the deploy, in every mode (project folder, process, container): the same
 * colour, release and project variables a service of the target gets, and this deploy's backup.
 */
function migrationEnv(
  e: Engine,
  target: Colour,
  release: string,
  backup: BackupMeta | undefined,
): Record<string, string> {
  return {
    COLOUR: target,
    ENVIRONMENT_NAME: target,
    SWITCHYARD_COLOUR: target,
    SWITCHYARD_RELEASE: release,
    SWITCHYARD_PROJECT_DIR: e.paths.root,
    ...(backup ? { SWITCHYARD_BACKUP: backup.file } : {}),
  };
}

export async function runMigration(
  e: Engine,
  target: Colour,
  release: string,
  backup: BackupMeta | undefined,
): Promise<string> {
  const hook = e.loaded.config.deploy.hooks.migrate!;
  const env = migrationEnv(e, target, release, backup);
  const t0 = performance.now();
  const where = hook.service ? `in ${hook.service} (${target})` : 'in the project folder';
  const out = hook.service
    ? await e.runtime.exec(target, hook.service, hook, { env, signal: e.signal })
    : await runCommand(hook, { cwd: e.paths.root, env: { ...process.env, ...env }, signal: e.signal });
  const what = e.redact(describeArgv(toArgv(hook.run, hook.shell)));
  if (!out.ok) {
    throw new SwitchyardError('MIGRATION_FAILED', `migration \`${what}\` failed ${where}: ${e.redact(out.detail)}`, {
      hint: backup
        ? `traffic did not move. The database was backed up before this deploy: ${backup.file}.` +
          ` If the migration left it half-changed, restore it with \`switchyard restore ${backup.name}\``
        : 'traffic did not move. This deploy took no backup; check the database before deploying again',
    });
  }
  return `\`${what}\` ${where} in ${((performance.now() - t0) / 1000).toFixed(1)} s`;
}
