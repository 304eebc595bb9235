/**
 * start(): every service of a release as one colour's containers, one per instance
 * (services.<name>.instances). Refuses a colour that still runs; removes its leftover stopped
 * containers; creates all, then starts all; then watches every instance for a short grace period,
 * so a container that exits on start (bad CMD, missing env) fails the start with its exit code and
 * last log lines, and nothing of the colour is left behind.
 */
import type Docker from 'dockerode';
import { describeKey, instancesOf } from '../../config/instances.js';
import type { Colour } from '../../config/schema.js';
import { SwitchyardError } from '../../errors.js';
import { indent } from '../../util/indent.js';
import type { ColourRun, RuntimeContext } from '../types.js';
import { call } from './client.js';
import { assignHostPorts, createServiceContainer, findContainers, publishedPort } from './containers.js';
import { containerTail } from './logs.js';
import { ensureNetwork } from './network.js';
import { sleep } from '../../util/sleep.js';

/** A container still up this long after start got past its entrypoint and config parsing. */
export const STARTUP_GRACE_MS = 1_500;
const POLL_MS = 100;

/** The colour's run as the engine shows it: `services` keyed by instance key (`api`, `api.2`). */
export function runFrom(colour: Colour, found: Awaited<ReturnType<typeof findContainers>>): ColourRun | undefined {
  if (found.length === 0) return undefined;
  const services: ColourRun['services'] = {};
  for (const f of found) {
    services[f.key] = {
      pid: f.info.State.Pid,
      port: publishedPort(f.info) ?? 0,
      startedAt: f.info.State.StartedAt || f.info.Created,
    };
  }
  return { colour, release: found[0]?.release ?? 'unknown', services };
}

/** Exited or crash-looping: its restart policy may already have restarted it. */
function crashed(info: Docker.ContainerInspectInfo): boolean {
  return !info.State.Running || info.State.Restarting || (info.RestartCount ?? 0) > 0;
}

export async function startColour(
  ctx: RuntimeContext,
  docker: Docker,
  colour: Colour,
  release: string,
  stopAll: () => Promise<void>,
  signal?: AbortSignal,
): Promise<ColourRun> {
  const { config } = ctx;
  const redact = ctx.redact ?? ((t: string) => t);
  const existing = await findContainers(docker, config.app, 'colour', colour);
  const live = existing.find((f) => f.info.State.Running);
  if (live)
    throw new SwitchyardError(
      'START_FAILED',
      `${colour} is already running (${live.name}, release ${live.release ?? '?'})`,
      { hint: `stop ${colour} first` },
    );
  if (existing.length > 0) await stopAll();

  const fail = async (
    message: string,
    details: string[] = [],
    code: 'START_FAILED' | 'ABORTED' = 'START_FAILED',
  ): Promise<never> => {
    await stopAll();
    throw new SwitchyardError(code, message, {
      details,
      hint:
        code === 'START_FAILED' ? `see \`switchyard logs ${colour}\` or \`docker logs\` of the container` : undefined,
    });
  };
  const network = await ensureNetwork(docker, config.app);
  const ports = await assignHostPorts(ctx, colour);
  const made: { key: string; id: string }[] = [];
  try {
    for (const { key, service, index } of instancesOf(config.services)) {
      if (signal?.aborted) await fail(`starting ${colour} interrupted`, [], 'ABORTED');
      const c = await createServiceContainer(ctx, docker, {
        colour,
        release,
        service,
        instance: index,
        hostPort: ports[key]!,
        network,
      });
      made.push({ key, id: c.id });
    }
    for (const m of made) {
      if (signal?.aborted) await fail(`starting ${colour} interrupted`, [], 'ABORTED');
      await call(`start ${describeKey(m.key)}`, () => docker.getContainer(m.id).start());
    }
  } catch (e) {
    if (e instanceof SwitchyardError && (e.code === 'ABORTED' || e.code === 'START_FAILED')) {
      await stopAll();
      throw e;
    }
    // The engine refused (a taken host port, a bad bind mount): its message says which.
    await fail(
      `could not start ${colour}: ${redact((e as { json?: { message?: string } }).json?.message ?? String(e))}`,
    );
  }

  const deadline = performance.now() + STARTUP_GRACE_MS;
  let dead: { key: string; id: string; info: Docker.ContainerInspectInfo }[] = [];
  while (performance.now() < deadline && dead.length === 0) {
    await sleep(POLL_MS);
    const infos = await Promise.all(
      made.map(async (m) => ({ ...m, info: await call('inspect', () => docker.getContainer(m.id).inspect()) })),
    );
    dead = infos.filter((x) => crashed(x.info));
  }
  if (dead.length > 0) {
    const lines: string[] = [];
    for (const d of dead) {
      const s = d.info.State;
      // A container its restart policy already restarted shows Running and ExitCode 0: its code is
      // gone, so say what is known instead of a misleading "code 0".
      const restarts = d.info.RestartCount ?? 0;
      const how = s.OOMKilled
        ? 'was killed (out of memory)'
        : s.Running || s.Restarting
          ? `exited and was restarted ${restarts} time${restarts === 1 ? '' : 's'} by Docker`
          : `exited with code ${s.ExitCode}${s.Error ? ` (${s.Error})` : ''}`;
      lines.push(
        `${describeKey(d.key)} (${colour}) ${how} right after starting; last lines of its output:`,
        indent(redact(await containerTail(docker, d.id))),
      );
    }
    await fail(lines.join('\n'));
  }
  if (signal?.aborted) await fail(`starting ${colour} interrupted`, [], 'ABORTED');
  return runFrom(colour, await findContainers(docker, config.app, 'colour', colour))!;
}
