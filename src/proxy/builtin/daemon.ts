/**
 * The proxy daemon in the foreground: what `switchyard proxy --project DIR` runs. It restores the
 * last snapshot (so it serves the colour it served before a restart), owns the control socket and
 * the pid file (and, with proxy.metrics, the metrics listener), and stops gracefully on
 * SIGTERM/SIGINT or a shutdown call.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorMessage, SwitchyardError } from '../../errors.js';
import { diskFullCause } from '../../util/disk-full.js';
import { projectPaths } from '../../state/paths.js';
import { proxyAlive } from '../client.js';
import { selfScript } from '../../util/self.js';
import type { ProxyControl } from '../types.js';
import { startControlServer } from './control.js';
import { exposition, StateMetrics, type MetricsJson } from './metrics.js';
import { closeMetricsListener, startMetricsListener } from './metrics-listener.js';
import { ProxyReplicas } from './replicas.js';
import { ProxyServer } from './server.js';
import { loadSnapshot, saveSnapshot, type Listen, type ProxySnapshot } from './snapshot.js';

/** How long in-flight requests get to finish when the daemon is asked to stop. */
export const SHUTDOWN_GRACE_MS = 10_000;

function log(message: string): void {
  process.stderr.write(`${new Date().toISOString()} proxy[${process.pid}] ${message}\n`);
}

/** Removes a socket file left by a dead daemon; refuses when a live one still answers on it. */
async function clearStaleSocket(socketPath: string): Promise<void> {
  const live = await proxyAlive(socketPath);
  if (live !== undefined) {
    throw new SwitchyardError('PROXY_FAILED', `a proxy is already running for this project (pid ${live.pid})`, {
      hint: 'run `switchyard down` to stop it first',
    });
  }
  await fs.rm(socketPath, { force: true });
}

/** What serves traffic: one ProxyServer in this process, or workers controlled from it. */
type Served = ProxyControl & {
  readonly address: Listen;
  readonly previewAddress: Listen | undefined;
  /** The traffic metrics of every process that serves (metrics.ts), for /metrics. */
  metrics(): Promise<MetricsJson[]>;
  close(graceMs: number): Promise<void>;
};

export interface DaemonOptions {
  /** Resolves with the bound address once serving (tests use it with port 0). */
  onReady?: (proxy: Served) => void;
  /** Stops the daemon like a signal would; for running it in-process. */
  signal?: AbortSignal;
}

export async function runProxyDaemon(projectDir: string, opts: DaemonOptions = {}): Promise<void> {
  const paths = projectPaths(projectDir);
  const snap = await loadSnapshot(paths.proxyState);
  if (snap === undefined) {
    throw new SwitchyardError('PROXY_FAILED', `no proxy state at ${paths.proxyState}`, {
      hint: 'start the proxy through `switchyard init` or `switchyard deploy`',
    });
  }
  await fs.mkdir(path.dirname(paths.proxySocket), { recursive: true, mode: 0o700 });
  await fs.mkdir(path.dirname(paths.proxyPid), { recursive: true, mode: 0o700 });
  // mkdir's mode only applies to a folder it creates: one that already existed (made by hand,
  // or under a loose umask) is narrowed here, before the control socket is opened in it.
  for (const dir of new Set([paths.dir, path.dirname(paths.proxySocket), path.dirname(paths.proxyPid)])) {
    const st = await fs.stat(dir);
    if ((st.mode & 0o077) !== 0) await fs.chmod(dir, st.mode & 0o700);
  }
  await clearStaleSocket(paths.proxySocket);

  let control: http.Server | undefined;
  let metricsServer: http.Server | undefined;
  let stop!: (why: string) => void;
  const stopped = new Promise<string>((resolve) => (stop = resolve));
  // The routing state as metrics follows each snapshot once it is saved: the state every worker applies next.
  const state = snap.metrics === undefined ? undefined : new StateMetrics(snap);
  const persist = async (s: ProxySnapshot) => {
    await saveState(paths.proxyState, s);
    state?.observe(s);
  };
  const workers = snap.workers ?? 1;
  // proxy.workers > 1: this process forks the workers that serve, and only controls them.
  const proxy: Served =
    workers > 1
      ? await ProxyReplicas.start(workers, {
          exec: selfScript(['proxy', '--project', paths.root]),
          persist,
          log,
          onGiveUp: (why) => stop(why),
        })
      : await ProxyServer.start(snap, { persist });
  const onSignal = (sig: NodeJS.Signals) => stop(sig);
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  const onAbort = () => stop('abort');
  opts.signal?.addEventListener('abort', onAbort);
  let orphan: OrphanWatch | undefined;
  try {
    if (snap.metrics !== undefined && state !== undefined) {
      const parts = async () => [await state.json(), ...(await proxy.metrics())];
      metricsServer = await startMetricsListener(snap.metrics, async () => exposition(await parts()));
    }
    control = await startControlServer(paths.proxySocket, proxy, () => stop('shutdown call'));
    await fs.writeFile(paths.proxyPid, `${process.pid}\n`, { mode: 0o600 });
    orphan = await watchForOrphaning(paths.root, paths.proxySocket, (why) => stop(why));
    const a = proxy.address;
    const pv = proxy.previewAddress;
    const mv = metricsServer?.address() as AddressInfo | undefined;
    const extras = [
      pv === undefined ? '' : `, preview ${pv.host}:${pv.port}`,
      mv === undefined ? '' : `, metrics ${mv.address}:${mv.port}`,
      snap.canary ? `, canary ${snap.canary.percent}% to ${snap.canary.colour}` : '',
      snap.maintenance ? ', maintenance on' : '',
    ].join('');
    const procs = proxy instanceof ProxyReplicas ? `, ${workers} workers (pids ${proxy.pids.join(', ')})` : '';
    log(
      `listening on ${a.host}:${a.port}, active ${snap.active ?? 'none'}${extras}${procs}` +
        `, control ${paths.proxySocket}`,
    );
    opts.onReady?.(proxy);
    if (opts.signal?.aborted) stop('abort');
    const why = await stopped;
    log(`stopping (${why})`);
  } finally {
    orphan?.stop();
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    opts.signal?.removeEventListener('abort', onAbort);
    const controlClosed =
      control === undefined ? Promise.resolve() : new Promise<void>((r) => control!.close(() => r()));
    control?.closeAllConnections();
    if (metricsServer !== undefined) await closeMetricsListener(metricsServer);
    await proxy.close(SHUTDOWN_GRACE_MS);
    await controlClosed;
    await fs.rm(paths.proxySocket, { force: true });
    await removePidFile(paths.proxyPid);
    log('stopped');
  }
}

/** How often the daemon checks that its project folder and control socket are still there. */
export const ORPHAN_CHECK_MS = 1_000;

interface OrphanWatch {
  stop(): void;
}

/**
 * A daemon whose project folder was deleted (a temp folder cleaned up after a failed script), or
 * whose control socket was removed or replaced, can no longer be reached by any command, yet it
 * would hold the public port for ever. It checks both every ORPHAN_CHECK_MS and, when either is
 * gone, stops as on SIGTERM: in-flight requests finish (SHUTDOWN_GRACE_MS), then the port is free.
 */
async function watchForOrphaning(
  root: string,
  socketPath: string,
  orphaned: (why: string) => void,
): Promise<OrphanWatch> {
  const own = await fs.stat(socketPath);
  // Only "no such file" means gone: a passing error (EIO on a network disk, EACCES while someone
  // fixes modes) must never take the live port down; the next check looks again.
  const statOrGone = (p: string) =>
    fs.stat(p).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' || e.code === 'ENOTDIR' ? 'gone' : 'unsure'));
  const check = async (): Promise<string | undefined> => {
    const folder = await statOrGone(root);
    if (folder === 'gone' || (typeof folder === 'object' && !folder.isDirectory()))
      return `the project folder ${root} is gone`;
    const now = await statOrGone(socketPath);
    if (now === 'gone') return `the control socket ${socketPath} is gone`;
    if (typeof now === 'object' && (now.ino !== own.ino || now.dev !== own.dev))
      return `the control socket ${socketPath} was replaced`;
    return undefined;
  };
  // One check at a time: the next is scheduled when this one is done (a slow disk never stacks them).
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const next = () => {
    timer = setTimeout(async () => {
      const why = await check();
      if (stopped) return;
      if (why === undefined) next();
      else orphaned(`${why}: no command can reach this proxy any more`);
    }, ORPHAN_CHECK_MS);
    timer.unref();
  };
  next();
  return {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/**
 * Saves the state before a change is applied; when that fails the change is refused, and the
 * error says so wherever it ends up (the control caller, through a worker or not).
 */
async function saveState(file: string, snap: ProxySnapshot): Promise<void> {
  try {
    await saveSnapshot(file, snap);
  } catch (err) {
    const dir = path.dirname(file);
    const full = diskFullCause(err) !== undefined;
    throw new SwitchyardError(
      'PROXY_FAILED',
      `the proxy could not save its state in ${dir}: ${full ? 'the disk is full (' : ''}` +
        `${errorMessage(err)}${full ? ')' : ''}; it kept routing as before`,
      {
        cause: err,
        hint: full
          ? `free space on the disk that holds ${dir} (see \`df -h ${dir}\`), then run the command again`
          : `check that ${dir} is writable and ${file} is a regular file, then run the command again`,
      },
    );
  }
}

/** Only our own pid file: a newer daemon may already have written its own. */
async function removePidFile(file: string): Promise<void> {
  const text = await fs.readFile(file, 'utf8').catch(() => '');
  if (text.trim() === String(process.pid)) await fs.rm(file, { force: true });
}
