/**
 * A command "inside" a service of a colour on the swarm (the migrate hook's `service:`), as a
 * one-off Swarm task: the manager cannot `docker exec` into a container on another node, so the
 * command runs in a service of its own, `<app>_<service>_<colour>_run<hex>`, made from the colour
 * service's spec as the manager holds it: the same pinned image, environment (plus the hook's),
 * overlay network (without the colour's alias) and placement constraints. One replica, never
 * restarted, no health check, no published port. The argv replaces the image's entrypoint, as
 * `docker exec` runs it directly (a string is run by /bin/sh -c only with shell: true). The task is
 * polled until it ends, bounded by the command's timeout and the signal. Its exit code and its log
 * (read through the manager: stdout and stderr, each in order, but the engine keeps no order
 * between the two) make the outcome. The one-off service is removed whatever happened. Removing
 * it stops a program still running (SIGINT, SIGKILL 2 s later), and the removal then waits, bounded,
 * until its node reports the container stopped. Never throws: every failure is an outcome that
 * says why.
 */
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import type { Colour } from '../../config/schema.js';
import { errorMessage } from '../../errors.js';
import { argvOf } from '../../util/run-command.js';
import { sleep } from '../../util/sleep.js';
import { apiMessage, containerTail, LABEL, statusOf } from '../docker/index.js';
import type { ExecCommand, ExecOutcome } from '../types.js';
import { managerCall } from './client.js';
import { taskLogs } from './logs.js';
import { overlayName } from './network.js';
import { swarmServiceName } from './spec.js';
import { NodeNames, TASK_POLL_MS } from './tasks.js';

/** Swarm refuses a service name longer than this. */
export const MAX_SERVICE_NAME = 63;
/** The role label of a one-off service (colour services are 'colour'). */
export const ONEOFF_ROLE = 'oneoff';
/** The lines of output kept (the log's tail); a failure's detail shows the last TAIL_LINES. */
const OUTPUT_LINES = 200;
const TAIL_LINES = 15;
/** As `docker exec`'s stop (exec-control.ts): SIGINT, then SIGKILL after 2 s. */
const STOP_SIGNAL = 'SIGINT';
const STOP_GRACE_MS = 2_000;
/** How long the removal waits for the task to end or leave the manager's list (its container stopped). */
const REMOVE_WAIT_MS = 15_000;
const ns = (ms: number): number => Math.round(ms * 1e6);

/**
 * `<app>_<service>_<colour>_run<hex>`. The colour service's name is cut short when the whole would
 * be longer than Swarm takes; the random part is always whole.
 */
export function oneOffName(app: string, service: string, colour: Colour, hex: string): string {
  const suffix = `_run${hex}`;
  const base = swarmServiceName(app, service, colour)
    .slice(0, MAX_SERVICE_NAME - suffix.length)
    .replace(/[-_.]+$/, '');
  return `${base}${suffix}`;
}

/** The parts of a colour service's spec (as the manager returns it) the one-off is made from. */
export interface ColourSpecView {
  Name?: string;
  Labels?: Record<string, string>;
  TaskTemplate?: {
    ContainerSpec?: { Image?: string; Env?: string[]; Dir?: string; User?: string };
    Placement?: { Constraints?: string[] };
    Networks?: { Target?: string }[];
  };
}

export interface OneOffSpecInput {
  app: string;
  service: string;
  colour: Colour;
  /** The running colour service's spec, read from the manager. */
  colourSpec: ColourSpecView;
  /** The program and its arguments, run as they are (the entrypoint replaced). */
  argv: string[];
  /** Over the service's own environment (the hook's COLOUR, SWITCHYARD_RELEASE...). */
  env: Record<string, string>;
  /** The random part of the name. */
  hex: string;
}

function envMap(lines: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const l of lines) {
    const i = l.indexOf('=');
    if (i > 0) out.set(l.slice(0, i), l.slice(i + 1));
  }
  return out;
}

/** The one-off service's spec: pure, so it is unit-tested. Throws when the colour's image is not pinned. */
export function oneOffServiceSpec(i: OneOffSpecInput): Docker.CreateServiceOptions {
  const t = i.colourSpec.TaskTemplate ?? {};
  const c = t.ContainerSpec ?? {};
  const image = c.Image ?? '';
  if (!/@sha256:[0-9a-f]{64}$/.test(image))
    throw new Error(`the colour service runs ${JSON.stringify(image)}, not an image pinned by digest`);
  if (i.argv.length === 0 || i.argv[0] === '') throw new Error('the command is empty');
  const from = i.colourSpec.Labels ?? {};
  const labels: Record<string, string> = {
    [LABEL.app]: i.app,
    [LABEL.service]: i.service,
    [LABEL.colour]: i.colour,
    ...(from[LABEL.release] !== undefined ? { [LABEL.release]: from[LABEL.release] } : {}),
    [LABEL.role]: ONEOFF_ROLE,
  };
  const env = envMap(c.Env ?? []);
  for (const [k, v] of Object.entries(i.env)) env.set(k, v);
  const networks = (t.Networks ?? []).flatMap((n) => (n.Target ? [{ Target: n.Target }] : []));
  return {
    Name: oneOffName(i.app, i.service, i.colour, i.hex),
    Labels: labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: image,
        Command: [...i.argv],
        Labels: labels,
        Env: [...env].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${k}=${v}`),
        ...(c.Dir ? { Dir: c.Dir } : {}),
        ...(c.User ? { User: c.User } : {}),
        // An init as PID 1 passes the stop signal on and reaps, as for a program run by `docker exec`.
        Init: true,
        StopSignal: STOP_SIGNAL,
        StopGracePeriod: ns(STOP_GRACE_MS),
        HealthCheck: { Test: ['NONE'] },
      },
      RestartPolicy: { Condition: 'none', MaxAttempts: 0 },
      Placement: { Constraints: [...(t.Placement?.Constraints ?? [])] },
      // The colour's network, without its alias: the one-off is no instance of the colour.
      Networks: networks.length > 0 ? networks : [{ Target: overlayName(i.app) }],
    },
    Mode: { Replicated: { Replicas: 1 } },
    EndpointSpec: { Mode: 'dnsrr' },
  };
}

/** What a one-off gives: the runtime's outcome, with its output (the log's tail) and exit code. */
export interface OneOffOutcome extends ExecOutcome {
  output: string;
  exitCode?: number;
}

export interface OneOffInput {
  app: string;
  service: string;
  colour: Colour;
  command: ExecCommand;
  env?: Record<string, string>;
  signal?: AbortSignal;
  /** Where a one-off service that could not be removed is reported. */
  log?: (line: string) => void;
}

interface RawTask {
  ID: string;
  CreatedAt?: string;
  NodeID?: string;
  Status?: { State?: string; Err?: string; Message?: string; ContainerStatus?: { ExitCode?: number } };
}

/** What runOneOff made on the swarm, for the removal. */
interface Made {
  /** The one-off service's ID and name, once created. */
  id?: string;
  name?: string;
  /** Its task, once the manager listed one. */
  task?: string;
  /** The task was seen in a final state: its container has stopped. */
  ended?: boolean;
}

const TERMINAL = new Set(['complete', 'failed', 'rejected', 'shutdown', 'orphaned', 'remove']);
const seconds = (ms: number): string => `${Number((ms / 1000).toFixed(1))} s`;

/** `\n` and the last TAIL_LINES lines of the output, or ''. */
const tailOf = (output: string): string => (output ? `\n${output.split('\n').slice(-TAIL_LINES).join('\n')}` : '');

/** The colour service's spec, or why there is none to run the command from. */
async function readColourSpec(manager: Docker, i: OneOffInput): Promise<ColourSpecView | string> {
  const name = swarmServiceName(i.app, i.service, i.colour);
  let spec: ColourSpecView | undefined;
  try {
    const info = (await managerCall(manager, `inspect service ${name}`, () => manager.getService(name).inspect())) as {
      Spec?: ColourSpecView;
    };
    spec = info.Spec;
  } catch (e) {
    if (statusOf(e) !== 404) throw e;
  }
  const labels = spec?.Labels ?? {};
  if (!spec) return `${i.colour} has no service ${i.service} on the swarm (no service ${name}): nothing to run it in`;
  if (labels[LABEL.app] !== i.app || labels[LABEL.role] !== 'colour')
    return `${name} on the swarm is not ${i.colour}'s ${i.service} of ${i.app} (its labels say otherwise)`;
  return spec;
}

export async function runOneOff(manager: Docker, i: OneOffInput): Promise<OneOffOutcome> {
  const argv = argvOf(i.command);
  const what = `${argv.join(' ')} in a one-off task of ${swarmServiceName(i.app, i.service, i.colour)}`;
  if (i.signal?.aborted) return { ok: false, detail: 'aborted', output: '' };
  const made: Made = {};
  let out: OneOffOutcome;
  try {
    const spec = await readColourSpec(manager, i);
    if (typeof spec === 'string') return { ok: false, detail: spec, output: '' };
    const create = oneOffServiceSpec({
      app: i.app,
      service: i.service,
      colour: i.colour,
      colourSpec: spec,
      argv,
      env: i.env ?? {},
      hex: randomBytes(4).toString('hex'),
    });
    made.name = create.Name;
    const created = (await managerCall(manager, `create service ${create.Name}`, () =>
      manager.createService(create),
    )) as { id?: string };
    made.id = created.id ?? create.Name;
    out = await watch(manager, i, made, argv, what);
  } catch (e) {
    out = { ok: false, detail: `could not run ${what}: ${apiMessage(e)}`, output: '' };
  } finally {
    if (made.id) {
      const left = await removeOneOff(manager, made);
      if (left) i.log?.(`warning: ${left}: remove it on the manager (\`docker service rm ${made.name}\`)`);
    }
  }
  return out;
}

/** Polls the one-off's task until it ends, the timeout or the signal; reads its log. */
async function watch(
  manager: Docker,
  i: OneOffInput,
  made: Made,
  argv: string[],
  what: string,
): Promise<OneOffOutcome> {
  const id = made.id as string;
  const deadline = performance.now() + i.command.timeout;
  const nodes = new NodeNames(manager);
  const output = async () =>
    made.task ? await containerTail(manager, made.task, OUTPUT_LINES, taskLogs(manager)) : '';
  for (;;) {
    const tasks = (await managerCall(manager, `list tasks of ${id}`, () =>
      manager.listTasks({ filters: { service: [id] } }),
    )) as RawTask[];
    // One task (never restarted); the newest, should Swarm ever have made another.
    const t = tasks.sort((a, b) => (Date.parse(b.CreatedAt ?? '') || 0) - (Date.parse(a.CreatedAt ?? '') || 0))[0];
    if (t) made.task = t.ID;
    const state = t?.Status?.State ?? 'new';
    const err = t?.Status?.Err;
    const node = t?.NodeID ? (await nodes.of([t.NodeID])).get(t.NodeID) : undefined;
    const where = node ? ` on ${node}` : '';
    if (t && state === 'pending' && err && /no suitable node/i.test(err))
      return { ok: false, detail: `${what} cannot be placed: ${err}`, output: '' };
    if (t && TERMINAL.has(state)) {
      made.ended = true;
      const text = await output();
      const code = t.Status?.ContainerStatus?.ExitCode;
      const exitCode = code ?? (state === 'complete' ? 0 : undefined);
      if (state === 'complete' && exitCode === 0) return { ok: true, detail: '', output: text, exitCode };
      const missing =
        exitCode === 126 || exitCode === 127 ? ` (${argv[0]} not found or not executable in the image)` : '';
      const why =
        exitCode !== undefined && exitCode !== 0 && (!err || /non-zero exit/.test(err))
          ? `exited with code ${exitCode}${missing}`
          : `${state}: ${err ?? t.Status?.Message ?? 'no reason given'}`;
      return {
        ok: false,
        detail: `${what}${where} ${why}${tailOf(text)}`,
        output: text,
        ...(exitCode !== undefined ? { exitCode } : {}),
      };
    }
    if (i.signal?.aborted) return { ok: false, detail: 'aborted', output: await output() };
    if (performance.now() >= deadline) {
      const text = await output();
      return {
        ok: false,
        detail: `${what}${where} timed out after ${seconds(i.command.timeout)} and was stopped${tailOf(text)}`,
        output: text,
      };
    }
    await sleep(Math.min(TASK_POLL_MS, Math.max(0, deadline - performance.now())), i.signal);
  }
}

/**
 * Removes the one-off service. When its task had not ended, waits (bounded) until the manager
 * lists it in a final state or no more: its node stopped the container. Returns what is left to do
 * by hand, or undefined.
 */
async function removeOneOff(manager: Docker, made: Made): Promise<string | undefined> {
  const { id, task } = made;
  if (!id) return undefined;
  try {
    await managerCall(manager, `remove service ${id}`, () => manager.getService(id).remove());
  } catch (e) {
    if (statusOf(e) !== 404) return `the one-off service could not be removed: ${apiMessage(e)}`;
  }
  if (!task || made.ended) return undefined;
  const deadline = performance.now() + REMOVE_WAIT_MS;
  for (;;) {
    try {
      const left = (await managerCall(manager, 'list tasks', () =>
        manager.listTasks({ filters: { id: [task] } }),
      )) as RawTask[];
      const t = left.find((x) => x.ID === task);
      if (!t || TERMINAL.has(t.Status?.State ?? '')) return undefined;
    } catch (e) {
      return `the one-off task's end could not be checked: ${errorMessage(e)}`;
    }
    if (performance.now() >= deadline)
      return `the one-off task was still on its node ${seconds(REMOVE_WAIT_MS)} after its service was removed`;
    await sleep(TASK_POLL_MS);
  }
}

/**
 * One-off services of a colour left behind by a switchyard that was killed while one ran (its
 * `finally` never came): removed with the colour, so `down` and a redeploy leave none.
 */
export async function removeOneOffs(manager: Docker, app: string, colour: Colour): Promise<void> {
  const label = [`${LABEL.app}=${app}`, `${LABEL.role}=${ONEOFF_ROLE}`, `${LABEL.colour}=${colour}`];
  const left = (await managerCall(manager, 'list one-off services', () =>
    manager.listServices({ filters: { label } }),
  )) as { ID: string }[];
  for (const s of left)
    await managerCall(manager, 'remove a one-off service', () => manager.getService(s.ID).remove()).catch(
      (e: unknown) => {
        if (statusOf(e) !== 404) throw e;
      },
    );
}
