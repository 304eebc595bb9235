/**
 * A shared service's env_file. Colour services get theirs through ctx.serviceEnv (config/load.ts);
 * shared services are docker-only, so their file is read here, when the container is created.
 */
import { readFileSync } from 'node:fs';
import { parseDotenv } from '../../config/env.js';
import { SwitchyardError } from '../../errors.js';

export function readEnvFile(file: string): Record<string, string> {
  try {
    return parseDotenv(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new SwitchyardError('CONFIG_INVALID', `cannot read env_file ${file}`, {
      cause: e,
      hint: 'check the shared service env_file path (relative to the project folder)',
    });
  }
}
