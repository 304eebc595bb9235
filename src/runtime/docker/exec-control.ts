/**
 * Controlling programs run with `docker exec`. The engine cannot signal an exec, and the exec's
 * Pid (exec inspect) is a host pid, meaningless inside the container's pid namespace. So every
 * exec carries a random marker in its environment (EXEC_MARKER), and a second exec of a fixed
 * script (the marker is its argument, not part of the script) finds the processes holding it in
 * /proc: SIGINT first (PostgreSQL clients then send a cancel request), then SIGKILL.
 */
import type Docker from 'dockerode';
import { API_TIMEOUT_MS, isConnectError, unreachable, withTimeout } from './client.js';
import { Collector, demuxStream } from './exec-streams.js';
import type { Duplex } from 'node:stream';

export const EXEC_MARKER = 'SWITCHYARD_EXEC_ID';
const MAX_OUTPUT = 64 * 1024;
const EXIT_POLL_MS = 50;
/** The whole stop (SIGINT, grace, SIGKILL, check) including the engine calls. */
const KILL_WAIT_MS = 15_000;

import { sleep } from '../../util/sleep.js';

export { sleep };

/**
 * Run as `sh -c KILL_SCRIPT sh <marker>`: fixed text, the marker is $1. Signals every process whose
 * environment holds MARKER=<marker>: SIGINT, up to 2 s for them to go, then SIGKILL. Exit 0 once
 * none is left, 1 when some survived. Needs sh, tr, grep, sleep: any Debian- or busybox-based image.
 */
const KILL_SCRIPT = [
  `m="${EXEC_MARKER}=$1"`,
  `pids() { for d in /proc/[0-9]*; do { tr '\\000' '\\n' <"$d/environ" | grep -qxF "$m"; }` +
    ` 2>/dev/null && echo "\${d#/proc/}"; done; }`,
  'p=$(pids); [ -n "$p" ] || exit 0',
  'kill -INT $p 2>/dev/null',
  'i=0; while [ $i -lt 20 ]; do p=$(pids); [ -n "$p" ] || exit 0; sleep 0.1; i=$((i+1)); done',
  'kill -KILL $p 2>/dev/null',
  'i=0; while [ $i -lt 10 ]; do p=$(pids); [ -n "$p" ] || exit 0; sleep 0.1; i=$((i+1)); done',
  'exit 1',
].join('\n');

/** Where a client connects, for DOCKER_UNREACHABLE messages (the client's own socket, not our DOCKER_HOST). */
export function targetOf(docker: Docker | undefined): string | undefined {
  const m = docker?.modem as { socketPath?: unknown; protocol?: unknown; host?: unknown; port?: unknown } | undefined;
  if (!m) return undefined;
  if (typeof m.socketPath === 'string') return `unix://${m.socketPath}`;
  if (typeof m.host === 'string')
    return `${typeof m.protocol === 'string' ? m.protocol : 'tcp'}://${m.host}${m.port ? `:${String(m.port)}` : ''}`;
  return undefined;
}

/** A Docker API call bounded by `ms`; a connection failure becomes DOCKER_UNREACHABLE. */
export async function api<T>(docker: Docker, what: string, fn: () => Promise<T>, ms = API_TIMEOUT_MS): Promise<T> {
  try {
    return await withTimeout(fn(), ms, what);
  } catch (e) {
    if (isConnectError(e)) throw unreachable(e, targetOf(docker));
    throw e;
  }
}

/** Runs a fixed helper command (the kill script, cat) in the container, output collected. */
export async function helperExec(
  docker: Docker,
  name: string,
  cmd: string[],
  ms: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const deadline = performance.now() + ms;
  const left = () => Math.max(1, deadline - performance.now());
  const exec = await api(
    docker,
    'exec create',
    () => docker.getContainer(name).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true }),
    left(),
  );
  const socket = (await api(docker, 'exec start', () => exec.start({ hijack: true, stdin: false }), left())) as Duplex;
  const stdout = new Collector(MAX_OUTPUT, 'tail');
  const stderr = new Collector(MAX_OUTPUT, 'tail');
  try {
    await withTimeout(
      demuxStream(
        socket,
        (b) => stdout.add(b),
        (b) => stderr.add(b),
      ),
      left(),
      `${cmd[0]} in container ${name}`,
    );
  } finally {
    socket.destroy();
  }
  for (;;) {
    const info = await api(docker, 'exec inspect', () => exec.inspect(), left());
    if (!info.Running) return { code: info.ExitCode, stdout: stdout.text(), stderr: stderr.text() };
    if (performance.now() >= deadline) return { code: null, stdout: stdout.text(), stderr: stderr.text() };
    await sleep(EXIT_POLL_MS);
  }
}

/**
 * Stops the program: the kill script inside the container, else (an image without sh) SIGKILL of
 * the exec's host pid when the engine runs on this machine. `started`: exec start was called, so
 * the program may appear a moment after a first pass found nothing (the engine answers the
 * start before it launches the process). Returns a note when it may survive.
 */
export async function stopMarked(
  docker: Docker,
  name: string,
  marker: string,
  exec: Docker.Exec,
  started: boolean,
): Promise<string | undefined> {
  const deadline = performance.now() + KILL_WAIT_MS;
  const survived = `it may still be running; check \`docker top ${name}\``;
  for (;;) {
    let scripted = false;
    try {
      const r = await helperExec(
        docker,
        name,
        ['sh', '-c', KILL_SCRIPT, 'sh', marker],
        Math.max(1_000, deadline - performance.now()),
      );
      scripted = r.code === 0 || r.code === 1;
    } catch {
      /* no sh in the image, or the engine failed: the host pid below */
    }
    const info = await api(docker, 'exec inspect', () => exec.inspect(), 5_000).catch(() => undefined);
    if (!info) return survived;
    if (!info.Running && (info.ExitCode !== null || !started)) return undefined;
    if (!scripted && info.Running && info.Pid > 0 && (docker.modem as { socketPath?: unknown }).socketPath) {
      try {
        process.kill(info.Pid, 'SIGKILL');
      } catch {
        /* not ours to signal (another pid namespace or user), or gone */
      }
    }
    if (performance.now() >= deadline) return survived;
    await sleep(100);
  }
}
