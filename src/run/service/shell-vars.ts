/**
 * Which `${VAR}` of switchyard.yml take their value from the shell that runs switchyard now. The
 * supervisor a unit starts at boot reads the config again, without that shell: each such variable
 * must come from the config's env_file or from an --env-file the unit names. Only names are
 * handled here, never values (I8).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseDocument } from 'yaml';
import type { LoadedConfig } from '../../config/loaded.js';
import { interpolateTree, parseDotenv } from '../../config/env.js';

/** The variable names a dotenv file defines (undefined when it cannot be read). */
export async function dotenvNames(file: string): Promise<string[] | undefined> {
  try {
    return Object.keys(parseDotenv(await readFile(file, 'utf8')));
  } catch {
    return undefined;
  }
}

/**
 * Names the config uses (as interpolation records them: found and used) that are neither in its env_file
 * nor in `envFiles`, nor PATH (which the unit sets). A name unset now falls back to its default now and at
 * boot alike, so it is not listed.
 */
export async function shellVariables(loaded: LoadedConfig, envFiles: string[], env = process.env): Promise<string[]> {
  const raw = parseDocument(await readFile(loaded.file, 'utf8'), { uniqueKeys: true }).toJS({ maxAliasCount: 100 });
  const own = loaded.config.env_file
    ? ((await dotenvNames(path.resolve(loaded.projectDir, loaded.config.env_file))) ?? [])
    : [];
  const given = (await Promise.all(envFiles.map(dotenvNames))).flatMap((n) => n ?? []);
  const fromFiles = new Set([...own, ...given, 'PATH']);
  // The values only decide which names interpolation finds; nothing of them leaves this function.
  const { used } = interpolateTree(raw, env);
  return [...used].filter((n) => !fromFiles.has(n)).sort();
}
