/**
 * Stable ports for services without a configured port: the first port picked for (colour, service)
 * is remembered in .switchyard/run/ports.json and reused while it is free. A proxy that names
 * backends in its config (nginx upstreams) then needs no reload on each deploy, and a reload is
 * what drops keep-alive requests (I3a, docs/design.md).
 */
import path from 'node:path';
import type { Colour } from '../../config/schema.js';
import { readJson, writeJsonAtomic } from '../../state/atomic.js';
import type { ProjectPaths } from '../../state/paths.js';
import { isPortFree, pickFreePort } from '../ports.js';

type Remembered = Partial<Record<Colour, Record<string, number>>>;

export const portsFile = (paths: ProjectPaths) => path.join(paths.run, 'ports.json');

async function readRemembered(paths: ProjectPaths): Promise<Remembered> {
  // A corrupt file only costs new port numbers (and one proxy reload), never a failed start.
  const v = await readJson<Remembered>(portsFile(paths)).catch(() => undefined);
  return v && typeof v === 'object' ? v : {};
}

/**
 * A port for each of `names` (services of `colour` without a fixed port): the remembered one when
 * it is free and not in `used`, else a newly picked one, which is remembered.
 */
export async function stablePorts(
  paths: ProjectPaths,
  colour: Colour,
  names: string[],
  used: Set<number>,
): Promise<Record<string, number>> {
  const all = await readRemembered(paths);
  const mine = { ...(all[colour] ?? {}) };
  const other = Object.entries(all)
    .filter(([c]) => c !== colour)
    .flatMap(([, m]) => Object.values(m ?? {}));
  const out: Record<string, number> = {};
  for (const name of names) {
    const want = mine[name];
    if (want !== undefined && Number.isInteger(want) && !used.has(want) && (await isPortFree(want))) {
      out[name] = want;
    } else {
      // Avoid the other colour's remembered ports too, so a stopped colour keeps its numbers.
      out[name] = await pickFreePort([...used, ...other]);
      mine[name] = out[name];
    }
    used.add(out[name]);
  }
  if (JSON.stringify(mine) !== JSON.stringify(all[colour] ?? {}))
    await writeJsonAtomic(portsFile(paths), { ...all, [colour]: mine });
  return out;
}

/**
 * The ports `colour` will use, without starting anything: remembered ones as they are (the colour
 * may be running on them), new ones picked and remembered for the rest. The engine hands these to
 * the proxy for BOTH colours up front, so nginx's upstreams are complete from the first start and
 * the first deploy of the other colour needs no reload (which would drop keep-alive requests).
 */
export async function plannedPorts(
  paths: ProjectPaths,
  colour: Colour,
  names: string[],
): Promise<Record<string, number>> {
  const all = await readRemembered(paths);
  const mine = { ...(all[colour] ?? {}) };
  const taken = Object.values(all).flatMap((m) => Object.values(m ?? {}));
  const out: Record<string, number> = {};
  for (const name of names) {
    const known = mine[name];
    if (known !== undefined && Number.isInteger(known)) out[name] = known;
    else {
      out[name] = await pickFreePort([...taken, ...Object.values(out)]);
      mine[name] = out[name];
    }
  }
  if (JSON.stringify(mine) !== JSON.stringify(all[colour] ?? {}))
    await writeJsonAtomic(portsFile(paths), { ...all, [colour]: mine });
  return out;
}
