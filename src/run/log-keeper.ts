/**
 * The supervisor's watch over the logs (issue 12, part 6): every LOG_POLL_MS it rotates, by size
 * (`logs.maxSize`, `logs.keep`), each running service's log (process runtime), the built-in proxy's
 * log, its own log, and nginx's error log; see util/log-rotate.ts for how a rotation loses no line
 * and restarts nothing. A service's log is rotated holding its colour's lock, so a start or stop
 * (which writes the log's header lines) never runs in the middle of it. Docker keeps the
 * containers' logs itself (their max-size and max-file options, set at create).
 */
import fs from 'node:fs';
import { COLOURS } from '../config/schema.js';
import { errorMessage } from '../errors.js';
import { nginxFiles } from '../proxy/nginx/files.js';
import { rotateNginxErrorLog } from '../proxy/nginx/log-rotate.js';
import { withColourLock } from '../runtime/process/colour-lock.js';
import { readRun } from '../runtime/process/runfile.js';
import { projectPaths, type ProjectPaths } from '../state/paths.js';
import { continueGroup, rotateIfNeeded, type RotateOptions } from '../util/log-rotate.js';
import { sleep } from '../util/sleep.js';
import type { ConfigWatch } from './config-watch.js';

/** How often log sizes are looked at: an app writing 50 MB/s overshoots maxSize by about 5 MB. */
export const LOG_POLL_MS = 100;

const big = (file: string, maxSize: number) => (fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0) >= maxSize;

function proxyPid(paths: ProjectPaths): number | undefined {
  let text = '';
  try {
    text = fs.readFileSync(paths.proxyPid, 'utf8');
  } catch {
    return undefined;
  }
  const n = Number.parseInt(text.trim(), 10);
  return Number.isInteger(n) && n > 1 ? n : undefined;
}

export function logKeeper(root: string, config: ConfigWatch, opts: { log: (line: string) => void }) {
  const paths = projectPaths(root);
  let stopping = false;
  let done: Promise<void> | undefined;

  const report = (what: string, r: Awaited<ReturnType<typeof rotateIfNeeded>>) => {
    if (r) opts.log(`rotated ${what}: ${r.bytes} bytes into ${r.pieces} file(s), writer paused ${r.pausedMs} ms`);
  };

  async function services(o: RotateOptions): Promise<void> {
    for (const colour of COLOURS) {
      const run = await readRun(paths, colour).catch(() => undefined);
      for (const [service, s] of Object.entries(run?.services ?? {})) {
        const file = paths.serviceLog(colour, service);
        if (!big(file, o.maxSize)) continue;
        // Detached at spawn: each service is the leader of its own process group.
        const r = await withColourLock(paths, colour, 0, () => rotateIfNeeded(file, { ...o, writerGroup: s.pid }));
        report(`${colour}/${service}`, r);
      }
    }
  }

  async function round(): Promise<void> {
    const e = await config.engine();
    if (!e) return;
    const o = { maxSize: e.loaded.config.logs.maxSize, keep: e.loaded.config.logs.keep };
    if (e.runtime.kind === 'process') await services(o);
    if (big(paths.proxyLog, o.maxSize)) {
      const pid = proxyPid(paths);
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
      for (const colour of COLOURS) {
        const run = await readRun(paths, colour).catch(() => undefined);
        for (const s of Object.values(run?.services ?? {})) continueGroup(s.pid);
      }
      const proxy = proxyPid(paths);
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
