/**
 * start(): every service of a release as one colour, each instance (services.<name>.instances) a
 * process of its own on its own port, keyed `api`, `api.2`, ... (config/instances.ts). Ports are
 * checked before anything is spawned; the run file is rewritten after each spawn so a crash
 * mid-start still leaves a record of what to stop; a process that dies within the startup grace
 * fails the whole start (and is cleaned up).
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import type { Colour } from '../../config/schema.js';
import { SwitchyardError } from '../../errors.js';
import { readManifest } from '../release.js';
import { LOOPBACK, isPortFree } from '../ports.js';
import { stablePorts } from './port-memory.js';
import type { ColourRun, RuntimeContext } from '../types.js';
import { describeArgv, toArgv } from './command.js';
import { baseEnv, serviceDir } from './env.js';
import { tailLog } from './logs.js';
import { indent } from '../../util/indent.js';
import { spawnService, type SpawnSpec } from './spawn.js';
import { restartPolicyOf } from './restart-policy.js';
import { liveness } from '../../util/procinfo.js';
import { readRun, removeRun, writeRun } from './runfile.js';
import { describeKey, fixedPorts, instancesOf, parseInstanceKey } from '../../config/instances.js';

/** A service that dies this soon after spawn almost surely crashed on startup (bad config, port). */
export const STARTUP_GRACE_MS = 300;

interface Started {
  name: string;
  child: ChildProcess;
  logFile: string;
  logOffset: number;
  exit?: { code: number | null; sig: NodeJS.Signals | null; error?: Error };
}

/**
 * A port for every instance key (config/instances.ts): fixed ones from `services.<name>.port`
 * (instance N on the port + N - 1), the rest picked free and remembered per key.
 */
export async function assignPorts(ctx: RuntimeContext, colour: Colour): Promise<Record<string, number>> {
  const ports: Record<string, number> = {};
  const used = new Set<number>();
  const units = instancesOf(ctx.config.services);
  // Fixed ports first, so a picked one never collides with a fixed one.
  for (const u of fixedPorts(ctx.config.services, colour)) {
    const fixed = u.port;
    const plus = u.index === 1 ? '' : ` (+ ${u.index - 1} for instance ${u.index})`;
    const key = `services.${u.service}.port.${colour}${plus}`;
    const clash = Object.entries(ports).find(([, p]) => p === fixed);
    if (clash)
      throw new SwitchyardError(
        'PORT_IN_USE',
        `port ${fixed} is configured for both ${describeKey(clash[0])} and ${describeKey(u.key)} (${colour})`,
        { hint: `give ${key} its own port` },
      );
    if (!(await isPortFree(fixed))) {
      throw new SwitchyardError(
        'PORT_IN_USE',
        `port ${fixed} for service ${describeKey(u.key)} (${colour}) is already in use on ${LOOPBACK}`,
        {
          hint:
            `find the owner with \`ss -ltnp 'sport = :${fixed}'\`` +
            ` and stop it (a leftover ${colour} process? try \`switchyard status\`)` +
            `, or change ${key}`,
        },
      );
    }
    ports[u.key] = fixed;
    used.add(fixed);
  }
  // The rest keep the port they had last time when it is free (see port-memory.ts).
  Object.assign(
    ports,
    await stablePorts(
      ctx.paths,
      colour,
      units.map((u) => u.key).filter((k) => ports[k] === undefined),
      used,
    ),
  );
  return ports;
}

/** Resolves after `ms`, or as soon as any of the children exits. */
function firstExitOrTimeout(procs: Started[], ms: number): Promise<void> {
  return new Promise((resolve) => {
    if (procs.some((p) => p.exit)) return resolve();
    const timer = setTimeout(resolve, ms);
    for (const p of procs) p.child.once('exit', () => (clearTimeout(timer), resolve()));
  });
}

/** How an instance (`key`: api, api.2) of a colour is spawned: by start, and by the supervisor to start it again. */
export function spawnSpec(
  ctx: RuntimeContext,
  colour: Colour,
  release: string,
  key: string,
  port: number,
): { spec: SpawnSpec; argv: ReturnType<typeof toArgv> } {
  const { service: name, index } = parseInstanceKey(key);
  const svc = ctx.config.services[name]!;
  const argv = toArgv(svc.command, svc.shell);
  const env = {
    ...baseEnv(ctx, name),
    PORT: String(port),
    HOST: LOOPBACK,
    ENVIRONMENT_NAME: colour,
    SWITCHYARD_COLOUR: colour,
    SWITCHYARD_RELEASE: release,
    SWITCHYARD_INSTANCE: String(index),
  };
  return { argv, spec: { file: argv.file, args: argv.args, cwd: serviceDir(ctx.paths, release, name), env } };
}

export async function startColour(
  ctx: RuntimeContext,
  colour: Colour,
  release: string,
  stopAll: () => Promise<void>,
  signal?: AbortSignal,
): Promise<ColourRun> {
  const { paths, config } = ctx;
  const redact = ctx.redact ?? ((t: string) => t);
  const manifest = await readManifest(paths, release);
  if (!manifest)
    throw new SwitchyardError('START_FAILED', `release ${release} does not exist or is incomplete`, {
      hint: 'prepare a new release (deploy builds one)',
    });
  const previous = await readRun(paths, colour);
  if (previous) {
    for (const [name, s] of Object.entries(previous.services)) {
      if ((await liveness(s.pid, s.startTicks)) === 'running') {
        throw new SwitchyardError(
          'START_FAILED',
          `${colour} is already running (${name}: pid ${s.pid}, release ${previous.release})`,
          { hint: `stop ${colour} first` },
        );
      }
    }
    // Leaders are dead, but stop() also reaps any children they left in their groups.
    await stopAll();
  }
  for (const name of Object.keys(config.services)) {
    const dir = serviceDir(paths, release, name);
    if (!(await fs.stat(dir).catch(() => undefined))?.isDirectory()) {
      throw new SwitchyardError('START_FAILED', `release ${release} has no folder for service ${name}`, {
        hint: 'the config changed since that release was built; deploy a new release',
      });
    }
  }
  const ports = await assignPorts(ctx, colour);
  const run: ColourRun = { colour, release, services: {}, ...(ctx.configFile ? { configFile: ctx.configFile } : {}) };
  const procs: Started[] = [];
  const fail = async (
    message: string,
    details: string[] = [],
    code: 'START_FAILED' | 'ABORTED' = 'START_FAILED',
  ): Promise<never> => {
    await stopAll();
    await removeRun(paths, colour);
    throw new SwitchyardError(code, message, {
      details,
      hint: code === 'START_FAILED' ? `see the service log under ${paths.colourLogs(colour)}` : undefined,
    });
  };
  for (const { key: name, service } of instancesOf(config.services)) {
    if (signal?.aborted) await fail(`starting ${colour} interrupted`, [], 'ABORTED');
    const svc = config.services[service]!;
    const port = ports[name]!;
    const { spec, argv } = spawnSpec(ctx, colour, release, name, port);
    const logFile = paths.serviceLog(colour, name);
    const header =
      `--- switchyard: start ${name} as ${colour}, release ${release}, port ${port}` +
      `: ${redact(describeArgv(argv))}` +
      ` (${new Date().toISOString()}) ---\n`;
    let s: Awaited<ReturnType<typeof spawnService>>;
    try {
      s = await spawnService(spec, logFile, header);
    } catch (error) {
      await fail(`could not start ${describeKey(name)} (${colour}): ${(error as Error).message}`, [
        `command: ${redact(describeArgv(argv))}`,
      ]);
      return run; // unreachable: fail() throws
    }
    const p: Started = { name, child: s.child, logFile, logOffset: s.logOffset };
    // spawnService listened from the spawn on: an exit during its awaits is in s.exit already.
    const ended = (x: NonNullable<typeof s.exit>) => (p.exit = { code: x.code, sig: x.signal });
    if (s.exit) ended(s.exit);
    else s.onExit = ended;
    s.child.unref();
    procs.push(p);
    run.services[name] = {
      pid: s.pid,
      port,
      ...(s.startTicks ? { startTicks: s.startTicks } : {}),
      startedAt: new Date().toISOString(),
      restart: restartPolicyOf(svc.restart),
    };
    await writeRun(paths, run);
  }
  await firstExitOrTimeout(procs, STARTUP_GRACE_MS);
  const dead = procs.filter((p) => p.exit);
  if (dead.length > 0) {
    const how = (p: Started) => (p.exit!.sig ? `was killed by ${p.exit!.sig}` : `exited with code ${p.exit!.code}`);
    const lines: string[] = [];
    for (const p of dead) {
      lines.push(
        `${describeKey(p.name)} (${colour}) ${how(p)} right after starting; last lines of ${p.logFile}:`,
        indent(redact(await tailLog(p.logFile, p.logOffset))),
      );
    }
    await fail(
      lines.join('\n'),
      dead.map((p) => `log: ${p.logFile}`),
    );
  }
  if (signal?.aborted) await fail(`starting ${colour} interrupted`, [], 'ABORTED');
  return run;
}
