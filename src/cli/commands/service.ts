/** service install|uninstall|status: the systemd unit that runs `up --foreground` for this project at boot. */
import { InvalidArgumentError, type Command } from 'commander';
import { SwitchyardError } from '../../errors.js';
import type { Reporter } from '../../run/reporter.js';
import {
  installService,
  serviceStatus,
  serviceUnit,
  uninstallService,
  type ServiceOptions,
  type SystemdReport,
} from '../../run/service/install.js';
import { openEngine, wantsJson, type GlobalOptions } from '../session.js';
import type { SetExit } from './register.js';

type Action = 'install' | 'uninstall' | 'status';

function parseAction(v: string): Action {
  if (v === 'install' || v === 'uninstall' || v === 'status') return v;
  throw new InvalidArgumentError(`expected install, uninstall or status, got ${JSON.stringify(v)}`);
}

interface Options {
  user?: boolean;
  unitDir?: string;
  envFile?: string[];
  force?: boolean;
  print?: boolean;
}

function refuseMisfits(action: Action, o: Options): void {
  const misfit =
    (o.print && action !== 'install' && '--print') ||
    (o.force && action === 'status' && '--force') ||
    (o.envFile?.length && action === 'uninstall' && '--env-file');
  if (misfit)
    throw new SwitchyardError('USAGE', `${misfit} does not go with \`service ${action}\``, {
      hint: 'switchyard service --help',
    });
}

function reportSystemd(r: Reporter, s: SystemdReport | undefined, where: string): void {
  if (!s) return;
  if (s.ran.length) r.info(`✓ ran ${s.ran.map((c) => `\`${c}\``).join(', ')}`);
  if (!s.todo.length) return;
  r.warn(`${s.why}: systemctl was not run. ${where}:`);
  for (const c of s.todo) r.info(`  ${c}`);
}

async function run(action: Action, o: Options, g: GlobalOptions): Promise<void> {
  const { engine, render } = await openEngine(g);
  const json = wantsJson(g);
  const opts: ServiceOptions = { user: o.user, unitDir: o.unitDir, envFiles: o.envFile, force: o.force };
  const loaded = engine.loaded;
  if (action === 'install' && o.print) {
    const u = await serviceUnit(loaded, opts);
    if (json) return render.event('service', { action: 'print', ...u });
    // stdout is exactly the unit (redirectable); the warnings go to stderr.
    for (const w of u.warnings) process.stderr.write(engine.redact(`! ${w}`) + '\n');
    return render.info(u.text.trimEnd());
  }
  if (action === 'install') {
    const r = await installService(loaded, opts);
    if (json) return render.event('service', { action, ...r });
    for (const w of r.warnings) render.warn(w);
    if (r.outcome === 'unchanged') return render.info(`✓ ${r.unit} is already installed (${r.file}), nothing to do`);
    render.info(`✓ ${r.outcome === 'written' ? 'wrote' : 'replaced'} ${r.file}`);
    reportSystemd(render, r.systemd, 'On a machine that runs systemd, with the unit in its folder, run');
    return render.info(
      `at boot it runs \`switchyard up --foreground\` for ${loaded.projectDir}; stopping the unit stops only ` +
        'the supervisor (the apps and the proxy keep serving; `switchyard down` stops them)',
    );
  }
  if (action === 'uninstall') {
    const r = await uninstallService(loaded, opts);
    if (json) return render.event('service', { action, ...r });
    if (!r.removed) return render.info(`${r.unit} is not installed (no ${r.file}), nothing to do`);
    render.info(`✓ removed ${r.file}`);
    reportSystemd(
      render,
      r.systemd,
      'Where systemd runs and the unit was enabled, the same is (disable before the file goes)',
    );
    return render.info('the apps and the proxy keep running; `switchyard down` stops them');
  }
  const s = await serviceStatus(loaded, opts);
  if (json) return render.event('service', { action, ...s });
  for (const w of s.warnings) render.warn(w);
  render.info(`unit:     ${s.unit}`);
  render.info(`file:     ${s.file} (${s.installed ? 'installed' : 'not installed'})`);
  if (s.installed)
    render.info(`matches:  ${s.matches ? 'yes' : 'no: differs from what `service install` would write now'}`);
  for (const d of s.differences) render.info(`    ${d}`);
  render.info(
    s.notAsked
      ? `systemd:  cannot be asked (${s.notAsked})`
      : `systemd:  ${s.enabled ?? 'unknown'} (is-enabled), ${s.active ?? 'unknown'} (is-active)`,
  );
}

export function registerService(program: Command, _setExit: SetExit): void {
  program
    .command('service')
    .description(
      'Start this project at boot: install writes a systemd unit, switchyard-<app>.service, that runs ' +
        '`up --foreground` (system-wide as root, or --user), and enables it when systemd runs this machine; ' +
        'uninstall disables and removes it; status says whether it is installed, current, enabled and active. ' +
        'Stopping the unit stops only the supervisor: the apps and the proxy keep serving (`down` stops them).',
    )
    .argument('<action>', 'install, uninstall or status', parseAction)
    .option('--user', 'a unit of your own service manager (~/.config/systemd/user, `systemctl --user`)')
    .option('--unit-dir <dir>', 'write the unit into this folder instead (packaging, tests); systemctl is not run')
    .option(
      '--env-file <file>',
      'install: a KEY=VALUE file the unit loads (EnvironmentFile=) for ${VAR}s that come from your shell; ' +
        'repeatable; only its path goes into the unit',
      (v: string, all: string[] | undefined) => [...(all ?? []), v],
    )
    .option('--force', 'install: replace a unit that differs; uninstall: remove one of another project')
    .option('--print', 'install: print the unit instead of writing it (no root needed)')
    .addHelpText(
      'after',
      '\nExit codes: 0 done (or nothing to do); 1 not root for a system unit, a folder that cannot be written, ' +
        'or systemctl failed; 2 usage/config error, or a different unit is in the way (--force).',
    )
    .action(async (action: Action, o: Options, cmd: Command) => {
      refuseMisfits(action, o);
      await run(action, o, cmd.optsWithGlobals<GlobalOptions>());
    });
}
