/**
 * The supervisor's watch over the logs (issue 12, part 6): every LOG_POLL_MS it rotates, by size
 * (`logs.maxSize`, `logs.keep`), each running service's log (process runtime), the built-in proxy's
 * log, its own log, and nginx's error log; see util/log-rotate.ts for how a rotation loses no line
 * and restarts nothing. A service's log is rotated holding its colour's lock, so a start or stop
 * (which writes the log's header lines) never runs in the middle of it. Docker keeps the
 * containers' logs itself (their max-size and max-file options, set at create).
 */
import fs from 'node:fs';
import { COLOURS, type Colour } from '../config/schema.js';
import { errorMessage } from '../errors.js';
import { daemonRunning } from '../proxy/launch.js';
import { nginxFiles } from '../proxy/nginx/files.js';
import { rotateNginxErrorLog } from '../proxy/nginx/log-rotate.js';
import { withColourLock } from '../runtime/process/colour-lock.js';
import { readRun } from '../runtime/process/runfile.js';
import { projectPaths, type ProjectPaths } from '../state/paths.js';
import { continueGroup, rotateIfNeeded, type RotateOptions } from '../util/log-rotate.js';
import { liveness } from '../util/procinfo.js';
import { sleep } from '../util/sleep.js';
import type { ConfigWatch } from './config-watch.js';

/** How often log sizes are looked at: an app writing 50 MB/s overshoots maxSize by about 5 MB. */
export const LOG_POLL_MS = 100;

const big = (file: string, maxSize: number) => (fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0) >= maxSize;

/** The built-in proxy daemon's pid while it runs (its pid file may be stale: the pid reused). */
async function proxyPid(paths: ProjectPaths): Promise<number | undefined> {
  if (!(await daemonRunning(paths))) return undefined;
  const n = Number.parseInt(fs.readFileSync(paths.proxyPid, 'utf8').trim(), 10);
  return Number.isInteger(n) && n > 1 ? n : undefined;
}

/** The service processes of the colours that run now, each the leader of its process group. */
async function liveWriters(paths: ProjectPaths) {
  const out: { colour: Colour; service: string; pid: number }[] = [];
  for (const colour of COLOURS) {
    const run = await readRun(paths, colour).catch(() => undefined);
    for (const [service, s] of Object.entries(run?.services ?? {})) {
      // A stopped signal must never reach a process that reused a dead service's pid.
      if ((await liveness(s.pid, s.startTicks)) === 'running') out.push({ colour, service, pid: s.pid });
    }
  }
  return out;
}

export function logKeeper(root: string, config: ConfigWatch, opts: { log: (line: string) => void }) {
  const paths = projectPaths(root);
  let stopping = false;
  let done: Promise<void> | undefined;

  const report = (what: string, r: Awaited<ReturnType<typeof rotateIfNeeded>>) => {
    if (r) opts.log(`rotated ${what}: ${r.bytes} bytes into ${r.pieces} file(s), writer paused ${r.pausedMs} ms`);
  };

  async function services(o: RotateOptions): Promise<void> {
    for (const { colour, service, pid } of await liveWriters(paths)) {
      const file = paths.serviceLog(colour, service);
      if (!big(file, o.maxSize)) continue;
      // Detached at spawn: each service is the leader of its own process group.
      const r = await withColourLock(paths, colour, 0, () => rotateIfNeeded(file, { ...o, writerGroup: pid }));
      report(`${colour}/${service}`, r);
    }
  }

  async function round(): Promise<void> {
    const e = await config.engine();
    if (!e) return;
    const o = { maxSize: e.loaded.config.logs.maxSize, keep: e.loaded.config.logs.keep };
    if (e.runtime.kind === 'process') await services(o);
    if (big(paths.proxyLog, o.maxSize)) {
      const pid = await proxyPid(paths);
      report('the proxy log', await rotateIfNeeded(paths.proxyLog, { ...o, ...(pid ? { writerGroup: pid } : {}) }));
    }
    // Its own: written only by this process, synchronously.
    report('the supervisor log', await rotateIfNeeded(paths.supervisorLog, o));
    if (e.loaded.config.proxy.kind === 'nginx' && (await rotateNginxErrorLog(nginxFiles(paths), o)))
      opts.log("rotated nginx's error log (renamed, then reopened by nginx on SIGUSR1)");
  }

  return {
    /** Starts the loop; a rotation a crashed supervisor left half done is first released (SIGCONT). */
    async start(): Promise<void> {
      for (const w of await liveWriters(paths)) continueGroup(w.pid);
      const proxy = await proxyPid(paths);
      if (proxy !== undefined) continueGroup(proxy);
      done = (async () => {
        while (!stopping) {
          await round().catch((err: unknown) => opts.log(`log rotation: ${errorMessage(err)}`));
          await sleep(LOG_POLL_MS);
        }
      })();
    },
    async stop(): Promise<void> {
      stopping = true;
      await done;
    },
  };
}
