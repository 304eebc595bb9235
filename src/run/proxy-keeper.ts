/**
 * The supervisor's watch over the proxy (issue 12, part 3). Every round it asks the proxy driver
 * whether the proxy is gone: its process dead and its public port refusing connections. If so, and
 * a colour is active, and the proxy was not stopped on purpose (`down` leaves run/proxy.stopped),
 * and `proxy.restart` is not `never`, it starts the proxy again exactly as every command does
 * (openProxy): from its saved routing. That keeps I3: a change is saved before any serving process
 * applies it, so a proxy started from the saved snapshot never routes older than what a command was
 * told is applied. A command whose control call the death cut fails as before (a deploy before
 * its switch: nothing changed; after: the journal, for `recover`).
 * A start that fails is tried again after 1 s, doubling to 10 s. Each start is a `restart` event
 * in the history (service `proxy`) and a line in the supervisor's log.
 */
import fs from 'node:fs/promises';
import { errorMessage } from '../errors.js';
import type { Watcher } from '../runtime/process/supervisor.js';
import { appendRestart } from '../state/history.js';
import { projectPaths } from '../state/paths.js';
import { readState } from '../state/state.js';
import type { ConfigWatch } from './config-watch.js';
import { openProxy } from './proxy.js';

const FIRST_RETRY_MS = 1_000;
const exists = (file: string) =>
  fs.access(file).then(
    () => true,
    () => false,
  );
const MAX_RETRY_MS = 10_000;

export function proxyKeeper(root: string, config: ConfigWatch, opts: { log: (line: string) => void }): Watcher {
  const paths = projectPaths(root);
  let restarts = 0;
  let retryAt = 0;
  let retryMs = FIRST_RETRY_MS;
  let failing = false;

  return {
    async round(): Promise<boolean> {
      const state = await readState(paths).catch(() => undefined);
      if (!state?.active) return false; // nothing to serve: not initialised, or `down`
      if (await exists(paths.proxyStopped)) return false;
      const e = await config.engine();
      if (!e) return true;
      if (e.loaded.config.proxy.restart === 'never' || !e.proxy.gone) return false;
      if (!(await e.proxy.gone())) return true;
      // Once more: `down` leaves the marker before it stops the proxy, so a proxy that is gone now
      // and was stopped on purpose always shows it here, however this round was timed against down.
      if (await exists(paths.proxyStopped)) return false;
      if (Date.now() < retryAt) return true;
      const t0 = Date.now();
      let error: string | undefined;
      let waitMs = 0;
      try {
        await openProxy(e);
        retryMs = FIRST_RETRY_MS;
        retryAt = 0;
      } catch (err) {
        error = e.redact(errorMessage(err));
        waitMs = retryMs;
        retryAt = Date.now() + retryMs;
        retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
      }
      if (!error) restarts += 1;
      // The history gets the first failure of a streak and the success that ends it, not every retry.
      const record = !error || !failing;
      failing = error !== undefined;
      opts.log(
        error
          ? `proxy: gone; could not start it again (next try in ${waitMs / 1000} s): ${error}`
          : `proxy: gone; started again from its saved routing in ${Date.now() - t0} ms (restart ${restarts})`,
      );
      if (!record) return true;
      await appendRestart(
        paths,
        {
          at: t0,
          colour: state.active,
          release: state.colours[state.active].release,
          service: 'proxy',
          reason: error
            ? `the proxy was gone; could not start it again: ${error}`
            : 'the proxy was gone; started again from its saved routing',
          ...(error ? { error } : {}),
        },
        e.redact,
      ).catch((err: unknown) => opts.log(`history: ${errorMessage(err)}`));
      return true;
    },
  };
}
