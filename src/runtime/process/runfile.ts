/** .switchyard/run/<colour>.json: which processes a colour owns. Written atomically (I4). */
import fs from 'node:fs/promises';
import type { Colour } from '../../config/schema.js';
import { SwitchyardError } from '../../errors.js';
import { readJson, writeJsonAtomic } from '../../state/atomic.js';
import type { ProjectPaths } from '../../state/paths.js';
import type { ColourRun } from '../types.js';

export async function readRun(paths: ProjectPaths, colour: Colour): Promise<ColourRun | undefined> {
  const file = paths.runFile(colour);
  let run: ColourRun | undefined;
  try {
    run = await readJson<ColourRun>(file);
  } catch (e) {
    throw new SwitchyardError('STATE_INVALID', `${file} is not valid JSON`, {
      cause: e,
      hint: `check for leftover ${colour} processes (ps -ef), stop them, then delete ${file}`,
    });
  }
  if (run === undefined) return undefined;
  const valid = (s: unknown) => {
    const r = s as { pid?: unknown; port?: unknown } | null;
    return (
      typeof r === 'object' &&
      r !== null &&
      Number.isInteger(r.pid) &&
      (r.pid as number) > 1 &&
      Number.isInteger(r.port)
    );
  };
  // A pid we would signal must be exactly what we wrote: never kill(-1) or a group from junk.
  if (
    run.colour !== colour ||
    typeof run.services !== 'object' ||
    run.services === null ||
    !Object.values(run.services).every(valid)
  ) {
    throw new SwitchyardError('STATE_INVALID', `${file} does not describe the ${colour} colour`, {
      hint: `check for leftover ${colour} processes, stop them, then delete ${file}`,
    });
  }
  return run;
}

export async function writeRun(paths: ProjectPaths, run: ColourRun): Promise<void> {
  await writeJsonAtomic(paths.runFile(run.colour), run);
}

export async function removeRun(paths: ProjectPaths, colour: Colour): Promise<void> {
  await fs.rm(paths.runFile(colour), { force: true });
}
