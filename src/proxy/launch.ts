/**
 * Starting and stopping the proxy daemon. The daemon outlives the CLI command that starts it
 * (it must keep serving between deploys), so it runs detached with its output in proxy.log.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import { openSync, closeSync } from 'node:fs';
import path from 'node:path';
import type { Route } from '../config/schema.js';
import { SwitchyardError } from '../errors.js';
import type { ProjectPaths } from '../state/paths.js';
import { selfCommand } from '../util/self.js';
import { loadSnapshot, saveSnapshot, type ProxySnapshot } from './builtin/snapshot.js';
import { proxyAlive, proxyClient } from './client.js';
import { sameFeatures, type ProxyFeatures } from './features.js';
import type { ConfigureOptions, ProxyControl, ProxyStatus } from './types.js';
import { pidAlive } from '../util/pid.js';
import { liveness } from '../util/procinfo.js';
import { checkMaintenanceMessage } from './maintenance-page.js';
import { sleep } from '../util/sleep.js';

export const START_TIMEOUT_MS = 10_000;
export const POLL_MS = 50;
/** The daemon gives in-flight requests 10 s; stopping waits a little longer than that. */
export const STOP_TIMEOUT_MS = 15_000;
const DOWN_HINT = 'run `switchyard down` then the command again';

export interface ProxyWant {
  listen: { host: string; port: number };
  routes: Route[];
  /** Request body limit in bytes (0 = none); absent = the daemon's default. */
  maxBodySize?: number;
  /** Preview listener, stickiness, allowlist; absent = leave the daemon's as they are. */
  features?: ProxyFeatures;
  /** Processes serving traffic (proxy.workers); read when the daemon starts. Absent = 1. */
  workers?: number;
  /** Where to serve Prometheus metrics (proxy.metrics.listen), null for nowhere; read when the daemon starts. */
  metrics?: { host: string; port: number } | null;
  /** When the daemon has to be started: start it in maintenance with this message (see ProxyDriver.ensure). */
  hold?: string;
}

export interface LaunchOptions {
  /** What to run instead of `switchyard proxy --project ROOT` (tests, before the CLI exists). */
  command?: { file: string; args: string[] };
  startTimeoutMs?: number;
}

const sameRoutes = (a: Route[], b: Route[]) =>
  a.length === b.length && a.every((r, i) => r.path === b[i]!.path && r.service === b[i]!.service);

async function logTail(file: string, from: number, lines = 20): Promise<string> {
  const text = await fs.readFile(file, 'utf8').catch(() => '');
  return text.slice(from).trimEnd().split('\n').slice(-lines).join('\n');
}

export async function ensureProxy(
  paths: ProjectPaths,
  want: ProxyWant,
  opts: LaunchOptions = {},
): Promise<{ control: ProxyControl; started: boolean; status: ProxyStatus; notes?: string[] }> {
  const control = proxyClient(paths.proxySocket);
  const live = await proxyAlive(paths.proxySocket);
  if (live !== undefined) {
    if (live.listen.host !== want.listen.host || live.listen.port !== want.listen.port) {
      throw new SwitchyardError(
        'PROXY_FAILED',
        `the running proxy listens on ${live.listen.host}:${live.listen.port}` +
          ` but the config says ${want.listen.host}:${want.listen.port}`,
        { hint: DOWN_HINT },
      );
    }
    const sameLimit = want.maxBodySize === undefined || live.maxBodySize === want.maxBodySize;
    const same = want.features === undefined || sameFeatures(live.features, want.features);
    const notes = [workersNote(live, want.workers), metricsNote(live, want.metrics)].filter(
      (n): n is string => n !== undefined,
    );
    if (sameRoutes(live.routes, want.routes) && sameLimit && same)
      return { control, started: false, status: live, ...(notes.length ? { notes } : {}) };
    // A preview port in use fails here with PORT_IN_USE, and the daemon keeps its previous state.
    await control.configure(want.routes, configureOptions(want));
    return { control, started: false, status: await control.status(), ...(notes.length ? { notes } : {}) };
  }

  // A dead daemon's snapshot keeps its colour, backends, canary, maintenance and watch; listen,
  // routes, the body limit and the features follow the config.
  const prev = await loadSnapshot(paths.proxyState);
  const hold = want.hold !== undefined && !prev?.maintenance;
  const next: ProxySnapshot = {
    backends: {},
    active: null,
    ...prev,
    ...(hold ? { maintenance: { message: checkMaintenanceMessage(want.hold!), since: new Date().toISOString() } } : {}),
    listen: want.listen,
    routes: want.routes,
    ...configureOptions(want),
    ...(want.workers === undefined ? {} : { workers: want.workers }),
  };
  if (want.metrics === null) delete next.metrics;
  else if (want.metrics !== undefined) next.metrics = want.metrics;
  await saveSnapshot(paths.proxyState, next);
  await fs.mkdir(path.dirname(paths.proxyLog), { recursive: true, mode: 0o700 });
  const logStart = (await fs.stat(paths.proxyLog).catch(() => undefined))?.size ?? 0;
  const cmd = opts.command ?? selfCommand(['proxy', '--project', paths.root]);
  const fd = openSync(paths.proxyLog, 'a', 0o600);
  let exited: string | undefined;
  let child: ChildProcess;
  try {
    child = spawn(cmd.file, cmd.args, { cwd: paths.root, detached: true, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  child.once('error', (e) => (exited = `could not be started: ${e.message}`));
  child.once('exit', (code, signal) => (exited = `exited (${signal ?? `code ${code}`})`));
  child.unref();

  const deadline = performance.now() + (opts.startTimeoutMs ?? START_TIMEOUT_MS);
  while (exited === undefined && performance.now() < deadline) {
    const status = await proxyAlive(paths.proxySocket, 500);
    if (status !== undefined) return { control, started: true, status };
    await sleep(POLL_MS);
  }
  // Another command may have started a daemon at the same moment: ours then exits, theirs serves.
  const other = await proxyAlive(paths.proxySocket, 500);
  if (other !== undefined) return { control, started: true, status: other };
  if (exited === undefined) child.kill('SIGTERM');
  const tail = await logTail(paths.proxyLog, logStart);
  const why = exited ?? `did not answer within ${Math.round((opts.startTimeoutMs ?? START_TIMEOUT_MS) / 1000)} s`;
  if (/already in use|EADDRINUSE|PORT_IN_USE/.test(tail)) {
    // The public listener, the preview one or the metrics one: the daemon's message names which.
    const other = /the (preview|metrics) listener cannot listen on (\S+):/.exec(tail);
    const where = other?.[2] ?? `${want.listen.host}:${want.listen.port}`;
    const what = other ? `the ${other[1]} listener` : 'the proxy';
    const setting = other?.[1] === 'metrics' ? 'proxy.metrics.listen' : other ? 'proxy.listen.preview' : 'proxy.listen';
    throw new SwitchyardError('PORT_IN_USE', `${what} cannot listen on ${where}: the port is already in use`, {
      details: tail === '' ? [] : tail.split('\n'),
      hint: `stop whatever listens on ${where} or change ${setting} in switchyard.yml`,
    });
  }
  throw new SwitchyardError('PROXY_FAILED', `the proxy ${why}; see ${paths.proxyLog}`, {
    details: tail === '' ? [] : tail.split('\n'),
    hint: DOWN_HINT,
  });
}

/**
 * The number of processes is fixed while the daemon runs: a config that wants another number is
 * reported, not applied (a restart would drop connections). Undefined when they agree.
 */
export function workersNote(live: ProxyStatus, wanted: number | undefined): string | undefined {
  const running = live.workers?.length ?? 1;
  if (wanted === undefined || wanted === running) return undefined;
  const n = (k: number) => (k === 1 ? '1 process' : `${k} worker processes`);
  return (
    `proxy.workers is ${wanted} but the running proxy has ${n(running)}` +
    `: the new number takes effect when the proxy restarts` +
    ` (\`switchyard down\`, then \`switchyard init\`)`
  );
}

/**
 * The metrics listener is opened when the daemon starts (like its workers): a config that moves,
 * adds or removes it is reported, not applied. Undefined when they agree.
 */
export function metricsNote(live: ProxyStatus, wanted: ProxyWant['metrics']): string | undefined {
  if (wanted === undefined) return undefined;
  const running = live.metrics;
  if (running?.host === wanted?.host && running?.port === wanted?.port) return undefined;
  const at = (m: { host: string; port: number }) => `${m.host}:${m.port}`;
  return (
    `${wanted === null ? 'proxy.metrics is not set' : `proxy.metrics.listen is ${at(wanted)}`}` +
    ` but the running proxy ${running === undefined ? 'serves no metrics' : `serves them on ${at(running)}`}` +
    `: the change takes effect when the proxy restarts (\`switchyard down\`, then \`switchyard init\`)`
  );
}

function configureOptions(want: ProxyWant): ConfigureOptions {
  return {
    ...(want.maxBodySize === undefined ? {} : { maxBodySize: want.maxBodySize }),
    ...(want.features === undefined ? {} : { features: want.features }),
  };
}

/** Whether the daemon named by the pid file runs (not a zombie, and its command line is a proxy's). */
export async function daemonRunning(paths: ProjectPaths): Promise<boolean> {
  const n = Number.parseInt((await fs.readFile(paths.proxyPid, 'utf8').catch(() => '')).trim(), 10);
  return Number.isInteger(n) && n > 1 && (await liveness(n, undefined)) === 'running' && (await looksLikeDaemon(n));
}

/** A pid file may outlive its process and the pid be reused: only signal what looks like our daemon. */
async function looksLikeDaemon(pid: number): Promise<boolean> {
  const cmdline = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined);
  return cmdline === undefined ? pidAlive(pid) : cmdline.includes('proxy');
}

async function waitGone(pid: number, socketPath: string, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    // A daemon running inside this very process (tests) is done when its socket is gone.
    const gone =
      pid === process.pid
        ? !(await fs.stat(socketPath).then(
            () => true,
            () => false,
          ))
        : // A zombie is gone: its parent (often init, which may reap only every few seconds) is all that is left.
          (await liveness(pid, undefined)) !== 'running';
    if (gone) return true;
    await sleep(POLL_MS);
  }
  return false;
}

/** Stops the daemon (shutdown call, else SIGTERM to the pid file's process). True if one was running. */
export async function stopProxy(paths: ProjectPaths, timeoutMs = STOP_TIMEOUT_MS): Promise<boolean> {
  const live = await proxyAlive(paths.proxySocket);
  let pid = live?.pid;
  if (live !== undefined) {
    await proxyClient(paths.proxySocket)
      .shutdown()
      .catch(() => {});
  } else {
    const text = await fs.readFile(paths.proxyPid, 'utf8').catch(() => '');
    const n = Number.parseInt(text.trim(), 10);
    if (Number.isInteger(n) && n > 0 && n !== process.pid && pidAlive(n) && (await looksLikeDaemon(n))) {
      pid = n;
      try {
        process.kill(n, 'SIGTERM');
      } catch {
        pid = undefined;
      }
    }
  }
  if (pid !== undefined && !(await waitGone(pid, paths.proxySocket, timeoutMs))) {
    throw new SwitchyardError(
      'PROXY_FAILED',
      `the proxy (pid ${pid}) did not stop within ${Math.round(timeoutMs / 1000)} s`,
      {
        hint: `stop it with \`kill ${pid}\` and run the command again`,
      },
    );
  }
  if (live === undefined) {
    await fs.rm(paths.proxySocket, { force: true });
    await fs.rm(paths.proxyPid, { force: true });
  }
  return pid !== undefined;
}
