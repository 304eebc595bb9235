/**
 * state.json: what switchyard has committed to. It changes only when traffic moves (or a colour
 * is stopped), never during the risky part of a deploy (I2), and always atomically (I4).
 * .current-env mirrors the active colour for the guide's users and scripts.
 */
import fs from 'node:fs/promises';
import * as z from 'zod';
import { COLOURS, type Colour } from '../config/schema.js';
import { SwitchyardError } from '../errors.js';
import { readJson, writeFileAtomic, writeJsonAtomic } from './atomic.js';
import type { ProjectPaths } from './paths.js';

const colour = z.enum(COLOURS);
const colourState = z.object({
  release: z.string().nullable(),
  status: z.enum(['live', 'standby', 'stopped']),
  since: z.string().optional(),
  /** The database backup taken by the deploy that started this release (kept by retention). */
  backup: z.string().optional(),
});
export const stateSchema = z.object({
  version: z.literal(1),
  app: z.string(),
  active: colour.nullable(),
  colours: z.object({ blue: colourState, green: colourState }),
  lastDeploy: z
    .object({
      id: z.string(),
      type: z.string(),
      at: z.string(),
      from: colour.nullable(),
      to: colour,
      release: z.string().nullable(),
      result: z.string(),
    })
    .optional(),
  updatedAt: z.string(),
});
export type State = z.infer<typeof stateSchema>;
export type ColourState = z.infer<typeof colourState>;

export function emptyState(app: string): State {
  const none: ColourState = { release: null, status: 'stopped' };
  return {
    version: 1,
    app,
    active: null,
    colours: { blue: { ...none }, green: { ...none } },
    updatedAt: new Date().toISOString(),
  };
}

/**
 * switchyard writes state.json atomically, so a broken one was changed by something else: rebuild it from what runs.
 */
const REBUILD_HINT = (file: string) =>
  `move it aside (\`mv ${file} ${file}.broken\`)` +
  `, run \`switchyard status\` to see what runs and which colour the proxy serves` +
  `, then record that colour with \`switchyard switch <colour> --force\``;

export async function readState(paths: ProjectPaths): Promise<State | undefined> {
  let raw: unknown;
  try {
    raw = await readJson(paths.state);
  } catch (e) {
    throw new SwitchyardError('STATE_INVALID', `${paths.state} is not valid JSON (corrupt or cut short)`, {
      cause: e,
      hint: REBUILD_HINT(paths.state),
    });
  }
  if (raw === undefined) return undefined;
  const parsed = stateSchema.safeParse(raw);
  if (!parsed.success) {
    throw new SwitchyardError('STATE_INVALID', `${paths.state} does not have the expected shape`, {
      details: parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`),
      hint: REBUILD_HINT(paths.state),
    });
  }
  return parsed.data;
}

/** Writes state.json and then .current-env, each atomically. */
export async function writeState(paths: ProjectPaths, state: State): Promise<void> {
  const next = { ...state, updatedAt: new Date().toISOString() };
  await writeJsonAtomic(paths.state, next);
  if (next.active) await writeFileAtomic(paths.currentEnv, `${next.active}\n`, 0o644);
  else await fs.rm(paths.currentEnv, { force: true });
}

export async function readCurrentEnv(paths: ProjectPaths): Promise<string | undefined> {
  try {
    return (await fs.readFile(paths.currentEnv, 'utf8')).trim();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * The state after traffic moved to `to`. `backup` is the dump the deploy took before changing
 * anything; a rollback (same release, no new backup) keeps the one recorded for that release.
 */
export function activated(state: State, to: Colour, release: string | null, backup?: string): State {
  const from = state.active;
  const now = new Date().toISOString();
  const colours = { ...state.colours };
  const kept = backup ?? (colours[to].release === release ? colours[to].backup : undefined);
  colours[to] = { release, status: 'live', since: now, ...(kept ? { backup: kept } : {}) };
  if (from && from !== to) colours[from] = { ...colours[from], status: 'standby', since: now };
  return { ...state, active: to, colours };
}

export function withColourStatus(state: State, c: Colour, status: ColourState['status']): State {
  return {
    ...state,
    colours: { ...state.colours, [c]: { ...state.colours[c], status, since: new Date().toISOString() } },
  };
}
