/**
 * The last result of each health level per colour, for the page: one round of the five levels
 * (the same as `switchyard health <colour>`) against each colour that has a service running,
 * every HEALTH_EVERY_MS while a page is open. Read-only requests to the app (its health paths,
 * its routes) and a SELECT 1; nothing is restarted or changed.
 */
import { COLOURS, type Colour } from '../config/schema.js';
import { errorMessage } from '../errors.js';
import type { LevelResult } from '../checks/health.js';
import type { Engine } from '../run/context.js';
import { healthOnce } from '../run/health.js';
import type { DashboardView } from './view.js';

export const HEALTH_EVERY_MS = 10_000;

export interface ColourHealth {
  at: string;
  ok: boolean;
  levels: LevelResult[];
  /** The round itself could not run (the runtime did not answer). */
  error?: string;
}

export type HealthView = Record<Colour, ColourHealth | null>;

export async function checkColours(e: Engine, view: DashboardView | undefined): Promise<HealthView> {
  const out = { blue: null, green: null } as HealthView;
  await Promise.all(
    COLOURS.map(async (c) => {
      if (!view?.colours[c].services.some((s) => s.running)) return;
      const at = new Date().toISOString();
      try {
        out[c] = { at, ...(await healthOnce(e, c)) };
      } catch (err) {
        out[c] = { at, ok: false, levels: [], error: e.redact(errorMessage(err)) };
      }
    }),
  );
  return out;
}
