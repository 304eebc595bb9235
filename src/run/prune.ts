/** Old releases are pruned after a deploy: never the live one nor the one a rollback would use. */
import { errorMessage } from '../errors.js';
import { readState } from '../state/state.js';
import type { Engine } from './context.js';

export async function pruneReleases(e: Engine): Promise<void> {
  const state = await readState(e.paths);
  const protect = [state?.colours.blue.release, state?.colours.green.release].filter((r): r is string => !!r);
  try {
    const removed = await e.runtime.pruneReleases(e.loaded.config.deploy.keepReleases, protect);
    if (removed.length) e.reporter.event('pruned', { releases: removed });
  } catch (err) {
    e.reporter.warn(`could not prune old releases: ${errorMessage(err)}`);
  }
}
