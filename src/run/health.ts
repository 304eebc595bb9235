/**
 * One round of the five health levels against a colour (`switchyard health` without --timeout,
 * and the dashboard's periodic check): the runtime's endpoints and status, the database ping.
 */
import { checkOnce, type HealthInput, type LevelResult } from '../checks/health.js';
import type { Colour } from '../config/schema.js';
import { databasePing } from './backup.js';
import type { Engine } from './context.js';

export interface HealthRound {
  ok: boolean;
  levels: LevelResult[];
}

export async function healthInput(e: Engine, colour: Colour): Promise<HealthInput> {
  return {
    config: e.loaded.config,
    colour,
    endpoints: await e.runtime.endpoints(colour),
    status: () => e.runtime.status(colour),
    pingDatabase: databasePing(e),
    signal: e.signal,
  };
}

export async function healthOnce(e: Engine, colour: Colour): Promise<HealthRound> {
  const levels = await checkOnce(await healthInput(e, colour));
  return { ok: levels.every((l) => l.ok || l.skipped), levels };
}
