/**
 * The config as it is now on disk, for the supervisor's watchers (proxy-keeper.ts, log-keeper.ts):
 * loaded again when the file changes, with the environment the supervisor was started with. A
 * config that cannot be loaded is logged once (until its message changes) and gives undefined.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { loadConfig } from '../config/load.js';
import { errorMessage } from '../errors.js';
import { createEngine, type Engine } from './context.js';

export interface ConfigWatch {
  engine(): Promise<Engine | undefined>;
}

export function watchConfig(root: string, opts: { configFile?: string; log: (line: string) => void }): ConfigWatch {
  let cached: { stamp: string; engine: Engine } | undefined;
  let lastError: string | undefined;
  return {
    async engine(): Promise<Engine | undefined> {
      const file = opts.configFile ?? path.join(root, 'switchyard.yml');
      const st = await fs.stat(file).catch(() => undefined);
      const stamp = `${file}:${st?.mtimeMs ?? 'missing'}`;
      if (cached?.stamp === stamp) return cached.engine;
      try {
        const loaded = await loadConfig({ cwd: root, ...(opts.configFile ? { file: opts.configFile } : {}) });
        cached = { stamp, engine: createEngine(loaded) };
        lastError = undefined;
        return cached.engine;
      } catch (e) {
        const why = errorMessage(e);
        if (why !== lastError) opts.log(`cannot read the config, so the proxy and the logs are not watched: ${why}`);
        lastError = why;
        cached = undefined;
        return undefined;
      }
    },
  };
}
