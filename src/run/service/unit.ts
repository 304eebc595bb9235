/**
 * The systemd unit that starts a project's supervisor at boot (`switchyard service install`): pure
 * text from the facts, no I/O, so the same function gives what install writes, what --print shows and
 * what status compares with. Quoting follows systemd.syntax(7) and systemd.service(5): `%` starts a
 * specifier in every value written here, `$` a variable in ExecStart's arguments (not in its program).
 */
import path from 'node:path';
import { SwitchyardError } from '../../errors.js';

export interface UnitSpec {
  /** config.app: the unit is `switchyard-<app>.service`. */
  app: string;
  projectDir: string;
  /** Absolute path of the loaded config file. */
  configFile: string;
  /** The node binary (process.execPath), its flags, and the switchyard script (util/self.ts). */
  node: string;
  execArgv: string[];
  script: string;
  runtimeKind: 'process' | 'docker' | 'swarm';
  /** nginx in a container (proxy mode: container): it needs docker too. */
  usesDockerProxy: boolean;
  /** A unit of the user's own service manager (`systemctl --user`) rather than the system's. */
  user: boolean;
  /** Absolute paths for EnvironmentFile= lines (names only; their values never go into the unit). */
  envFiles: string[];
  /** PATH for the supervisor (nginx, docker and the services' commands are looked up in it). */
  path: string;
}

export function unitName(app: string): string {
  return `switchyard-${app}.service`;
}

const CONTROL = /[\x00-\x1f\x7f]/;

function refuse(what: string, value: string, why: string): never {
  throw new SwitchyardError('USAGE', `${what} ${JSON.stringify(value)} cannot be written into a systemd unit: ${why}`, {
    hint: 'move the project (or the file) to a path without control characters',
  });
}

function checkPath(what: string, p: string): string {
  if (!path.isAbsolute(p)) refuse(what, p, 'it is not an absolute path');
  if (CONTROL.test(p)) refuse(what, p, 'it contains a control character (a newline?)');
  if (/\s$/.test(p)) refuse(what, p, 'systemd strips the whitespace at its end');
  return p;
}

/** A path written as the whole value of a setting (WorkingDirectory=, EnvironmentFile=): no unquoting there. */
export function systemdPath(what: string, p: string): string {
  return checkPath(what, p).replaceAll('%', '%%');
}

/** One word of a command line or an Environment= assignment, quoted only when it has to be. */
export function systemdWord(word: string, opts: { variables: boolean }): string {
  let w = word.replaceAll('%', '%%');
  if (opts.variables) w = w.replaceAll('$', '$$$$'); // "$$$$" is how replaceAll writes "$$"
  if (w !== '' && !/[\s"'\\;\x00-\x1f\x7f]/.test(w)) return w;
  const body = w.replace(/[\\"\x00-\x1f\x7f]/g, (c) =>
    c === '\\' || c === '"' ? `\\${c}` : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
  return `"${body}"`;
}

/** The unit's ExecStart= value: the program as it is ($ is not expanded there), then the arguments. */
export function execStart(spec: UnitSpec): string {
  const program = systemdWord(checkPath('the node binary', spec.node), { variables: false });
  const script = checkPath('the switchyard script', spec.script);
  const args = [
    ...spec.execArgv,
    script,
    '--config',
    checkPath('the config file', spec.configFile),
    'up',
    '--foreground',
  ];
  return [program, ...args.map((a) => systemdWord(a, { variables: true }))].join(' ');
}

export function renderUnit(spec: UnitSpec): string {
  const dir = systemdPath('the project folder', spec.projectDir);
  // swarm: images are built on this machine's engine, and the manager is often this machine too.
  const docker = spec.runtimeKind !== 'process' || spec.usesDockerProxy;
  const lines = [
    `# ${unitName(spec.app)}: written by \`switchyard service install\` for ${spec.projectDir}`,
    '# `switchyard service status` says whether it still matches what install would write; to change it,',
    '# run install again with --force (edits here are overwritten).',
    '[Unit]',
    `Description=switchyard supervisor of ${spec.app} (${dir})`,
    ...(spec.user
      ? [
          '# A user unit cannot order itself after system units (network-online.target, docker.service):',
          '# Restart= below tries again every 2 s until what the project needs is up.',
        ]
      : [
          'Wants=network-online.target',
          'After=network-online.target',
          ...(docker ? ['After=docker.service', 'Requires=docker.service'] : []),
        ]),
    '# Never stop starting again (systemd would after 5 failed starts in 10 s, e.g. while the network comes up).',
    'StartLimitIntervalSec=0',
    '',
    '[Service]',
    'Type=simple',
    `WorkingDirectory=${dir}`,
    `ExecStart=${execStart(spec)}`,
    "# The PATH install ran with: nginx, docker and the services' commands are looked up in it.",
    `Environment=${systemdWord(`PATH=${spec.path}`, { variables: false })}`,
    ...(spec.envFiles.length
      ? [
          '# Variables for ${...} in the config that its env_file does not hold (only their file is named here).',
          ...spec.envFiles.map((f) => `EnvironmentFile=${systemdPath('the --env-file', f)}`),
        ]
      : []),
    'Restart=always',
    'RestartSec=2',
    '# KillMode=process: stopping or restarting this unit signals the supervisor only. The supervisor',
    '# starts the apps and the proxy detached: they keep serving while it is restarted or stopped, and',
    '# a new supervisor adopts them. `switchyard down` stops them.',
    'KillMode=process',
    '',
    '[Install]',
    `WantedBy=${spec.user ? 'default.target' : 'multi-user.target'}`,
  ];
  return lines.join('\n') + '\n';
}

/** The EnvironmentFile= paths of a unit's text (status compares with the same files install was given). */
export function unitEnvFiles(text: string): string[] {
  return [...text.matchAll(/^EnvironmentFile=(.*)$/gm)].map((m) => (m[1] as string).replaceAll('%%', '%'));
}

/** The WorkingDirectory= of a unit's text: the project it belongs to. */
export function unitProjectDir(text: string): string | undefined {
  return /^WorkingDirectory=(.*)$/m.exec(text)?.[1]?.replaceAll('%%', '%');
}

/** Lines only in `had` (as "- line") or only in `want` ("+ line"): what status and install show of a change. */
export function unitDifferences(had: string, want: string): string[] {
  const a = new Set(had.split('\n'));
  const b = new Set(want.split('\n'));
  return [
    ...[...a].filter((l) => !b.has(l)).map((l) => `- ${l}`),
    ...[...b].filter((l) => !a.has(l)).map((l) => `+ ${l}`),
  ];
}
