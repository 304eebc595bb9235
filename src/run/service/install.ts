/**
 * `switchyard service install | uninstall | status`: the unit file of this project (unit.ts writes its
 * text), where it goes, and systemctl when systemd runs this machine. Returns data; the CLI prints it.
 */
import { existsSync, statSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { LoadedConfig } from '../../config/loaded.js';
import { SwitchyardError } from '../../errors.js';
import { selfScript } from '../../util/self.js';
import { shellVariables } from './shell-vars.js';
import { systemctl, systemctlAsk, systemctlLine, systemdRunning } from './systemctl.js';
import { renderUnit, unitDifferences, unitEnvFiles, unitName, unitProjectDir, type UnitSpec } from './unit.js';
import { writeUnitFile, fileError } from './write.js';

export interface ServiceOptions {
  /** A unit of the user's service manager (~/.config/systemd/user, `systemctl --user`). */
  user?: boolean;
  /** The folder for the unit file instead of systemd's (packaging, tests): systemctl is then left alone. */
  unitDir?: string;
  /** --env-file: dotenv files the unit names (EnvironmentFile=), as given (relative to cwd). */
  envFiles?: string[];
  force?: boolean;
  cwd?: string;
}

/** What systemd did, or what to run on a machine where it runs. */
export interface SystemdReport {
  running: boolean;
  /** The systemctl commands run here. */
  ran: string[];
  /** The commands to run by hand (systemd not running, or --unit-dir). */
  todo: string[];
  /** Why they were not run here. */
  why?: string;
}

export interface ServiceUnit {
  unit: string;
  file: string;
  text: string;
  warnings: string[];
}

export function unitDir(opts: ServiceOptions, env = process.env): string {
  if (opts.unitDir) return path.resolve(opts.cwd ?? process.cwd(), opts.unitDir);
  if (!opts.user) return '/etc/systemd/system';
  const xdg = env.XDG_CONFIG_HOME;
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.config'), 'systemd', 'user');
}

function isFile(f: string): boolean {
  return existsSync(f) && statSync(f).isFile();
}

function absoluteEnvFiles(opts: ServiceOptions): string[] {
  return (opts.envFiles ?? []).map((f) => {
    const abs = path.resolve(opts.cwd ?? process.cwd(), f);
    if (!isFile(abs))
      throw new SwitchyardError('USAGE', `--env-file ${abs}: no such file`, {
        hint: 'create it first (KEY=VALUE lines): systemd refuses to start a unit whose EnvironmentFile is missing',
      });
    return abs;
  });
}

export function unitSpec(loaded: LoadedConfig, user: boolean, envFiles: string[], env = process.env): UnitSpec {
  const self = selfScript([]);
  const proxy = loaded.config.proxy;
  return {
    app: loaded.config.app,
    projectDir: loaded.projectDir,
    configFile: loaded.file,
    node: process.execPath,
    execArgv: self.execArgv,
    script: self.script,
    runtimeKind: loaded.config.runtime,
    usesDockerProxy: proxy.kind === 'nginx' && proxy.mode === 'container',
    user,
    envFiles,
    path: env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  };
}

/** The unit install would write now, where, and the variables it could not give the supervisor at boot. */
export async function serviceUnit(loaded: LoadedConfig, opts: ServiceOptions, strict = true): Promise<ServiceUnit> {
  const envFiles = strict ? absoluteEnvFiles(opts) : (opts.envFiles ?? []);
  const text = renderUnit(unitSpec(loaded, !!opts.user, envFiles));
  const unit = unitName(loaded.config.app);
  const names = await shellVariables(loaded, envFiles);
  const warnings = names.length
    ? [
        `${names.map((n) => `\${${n}}`).join(', ')} (used by ${path.basename(loaded.file)}) ` +
          `${names.length === 1 ? 'comes' : 'come'} from this shell, not from the config's env_file: the supervisor ` +
          're-reads the config at boot without this shell; put ' +
          `${names.length === 1 ? 'it' : 'them'} in a file and pass --env-file FILE (the unit names the file, ` +
          'never the values)',
      ]
    : [];
  return { unit, file: path.join(unitDir(opts), unit), text, warnings };
}

async function readUnit(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fileError(e, file, 'read');
  }
}

function needsRoot(opts: ServiceOptions, verb: string): void {
  if (opts.user || opts.unitDir || process.getuid?.() === 0) return;
  throw new SwitchyardError('COMMAND_FAILED', `${verb} a system-wide unit (/etc/systemd/system) needs root`, {
    hint: `run it as root (sudo), or use --user for a unit of your own service manager`,
  });
}

/** Runs `steps` when systemd runs this machine and the unit is where it looks; else says what to run. */
async function withSystemd(opts: ServiceOptions, steps: string[][], done: string): Promise<SystemdReport> {
  const user = !!opts.user;
  const todo = steps.map((s) => systemctlLine(user, s));
  const running = systemdRunning();
  if (!running)
    return { running, ran: [], todo, why: 'systemd is not running on this machine (no /run/systemd/system)' };
  if (opts.unitDir)
    return {
      running,
      ran: [],
      todo,
      why: '--unit-dir given: systemctl is left alone (the file may not be in use yet)',
    };
  for (const [i, s] of steps.entries()) {
    try {
      await systemctl(user, s);
    } catch (e) {
      const details = e instanceof SwitchyardError ? e.details : [String(e)];
      throw new SwitchyardError('COMMAND_FAILED', `\`${todo[i]}\` failed (${done})`, {
        details,
        hint: `fix the cause, then run: ${todo.slice(i).join(' && ')}`,
        cause: e,
      });
    }
  }
  return { running, ran: todo, todo: [] };
}

/** For a --user unit: a user's service manager starts at boot only when lingering is on. */
function lingerWarning(opts: ServiceOptions): string[] {
  if (!opts.user) return [];
  const name = os.userInfo().username;
  if (existsSync(path.join('/var/lib/systemd/linger', name))) return [];
  return [
    `a user unit starts at boot only if ${name}'s service manager does: \`loginctl enable-linger ${name}\` ` +
      '(else it starts at their first login)',
  ];
}

export interface InstallResult extends ServiceUnit {
  outcome: 'written' | 'replaced' | 'unchanged';
  systemd?: SystemdReport;
}

export async function installService(loaded: LoadedConfig, opts: ServiceOptions): Promise<InstallResult> {
  const u = await serviceUnit(loaded, opts);
  needsRoot(opts, 'installing');
  const old = await readUnit(u.file);
  if (old === u.text) return { ...u, outcome: 'unchanged' };
  if (old !== undefined && !opts.force) {
    const owner = unitProjectDir(old);
    throw new SwitchyardError('USAGE', `${u.file} exists and differs from the unit install would write now`, {
      details: [
        ...(owner && owner !== loaded.projectDir ? [`it is the unit of another project: ${owner}`] : []),
        ...unitDifferences(old, u.text).slice(0, 12),
      ],
      hint: '`switchyard service install --print` shows the new unit; --force replaces the file',
    });
  }
  await writeUnitFile(u.file, u.text, { user: !!opts.user, explicit: !!opts.unitDir });
  // A replaced unit takes effect at a restart (of the supervisor only: KillMode=process).
  const start =
    old === undefined
      ? [['enable', '--now', u.unit]]
      : [
          ['enable', u.unit],
          ['restart', u.unit],
        ];
  const systemd = await withSystemd(opts, [['daemon-reload'], ...start], `${u.file} is written`);
  const warnings = [...u.warnings, ...lingerWarning(opts)];
  return { ...u, warnings, outcome: old === undefined ? 'written' : 'replaced', systemd };
}

export interface UninstallResult {
  unit: string;
  file: string;
  removed: boolean;
  systemd?: SystemdReport;
}

export async function uninstallService(loaded: LoadedConfig, opts: ServiceOptions): Promise<UninstallResult> {
  const unit = unitName(loaded.config.app);
  const file = path.join(unitDir(opts), unit);
  const old = await readUnit(file);
  if (old === undefined) return { unit, file, removed: false };
  const owner = unitProjectDir(old);
  if (owner !== loaded.projectDir && !opts.force)
    throw new SwitchyardError('USAGE', `${file} is not the unit of this project (${loaded.projectDir})`, {
      details: [owner ? `its WorkingDirectory is ${owner}` : 'it has no WorkingDirectory= line'],
      hint: '--force removes it anyway',
    });
  needsRoot(opts, 'removing');
  // Stopped and disabled while its file is still there; then the file goes, then systemd forgets it.
  const live = systemdRunning() && !opts.unitDir;
  const disable = ['disable', '--now', unit];
  const disabled = live ? await withSystemd(opts, [disable], `${file} is still in place`) : undefined;
  try {
    await fs.rm(file);
  } catch (e) {
    throw fileError(e, file, 'remove', { user: !!opts.user, explicit: !!opts.unitDir });
  }
  const systemd = await withSystemd(
    opts,
    live ? [['daemon-reload']] : [disable, ['daemon-reload']],
    `${file} is removed`,
  );
  systemd.ran.unshift(...(disabled?.ran ?? []));
  return { unit, file, removed: true, systemd };
}

export interface StatusResult extends ServiceUnit {
  installed: boolean;
  /** The installed file is what install would write now (with the same env files). */
  matches?: boolean;
  /** Lines only in the installed file (-) or only in what install would write (+). */
  differences: string[];
  enabled?: string;
  active?: string;
  /** Why systemctl was not asked. */
  notAsked?: string;
}

export async function serviceStatus(loaded: LoadedConfig, opts: ServiceOptions): Promise<StatusResult> {
  const file = path.join(unitDir(opts), unitName(loaded.config.app));
  const old = await readUnit(file);
  // Compare with the env files the installed unit names, unless others are given.
  const given = !!opts.envFiles?.length;
  const named = given || old === undefined ? [] : unitEnvFiles(old);
  const missing = named.filter((f) => !isFile(f));
  const u = await serviceUnit(loaded, given ? opts : { ...opts, envFiles: named }, given);
  u.warnings.push(...missing.map((f) => `EnvironmentFile ${f} is gone: systemd will not start the unit without it`));
  const differences = old === undefined ? [] : unitDifferences(old, u.text);
  const base = { ...u, installed: old !== undefined, differences };
  const status: StatusResult = old === undefined ? base : { ...base, matches: old === u.text };
  if (!systemdRunning()) return { ...status, notAsked: 'systemd is not running on this machine' };
  if (opts.unitDir) return { ...status, notAsked: '--unit-dir given: systemd may not read that folder' };
  const user = !!opts.user;
  const [enabled, active] = await Promise.all([
    systemctlAsk(user, 'is-enabled', u.unit),
    systemctlAsk(user, 'is-active', u.unit),
  ]);
  return { ...status, enabled, active };
}
