/**
 * Which compose files a project has, as `docker compose` finds them: COMPOSE_FILE (from the
 * environment or .env) when set, else the first of compose.yaml, compose.yml, docker-compose.yml,
 * docker-compose.yaml, plus its override file when present. And the project's .env.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseDotenv } from '../config/env.js';
import { SwitchyardError } from '../errors.js';

const MAIN = ['compose.yaml', 'compose.yml', 'docker-compose.yml', 'docker-compose.yaml'];
const OVERRIDES: Record<string, string[]> = {
  'compose.yaml': ['compose.override.yaml', 'compose.override.yml'],
  'compose.yml': ['compose.override.yml', 'compose.override.yaml'],
  'docker-compose.yml': ['docker-compose.override.yml', 'docker-compose.override.yaml'],
  'docker-compose.yaml': ['docker-compose.override.yaml', 'docker-compose.override.yml'],
};

const isFile = (p: string) => existsSync(p) && statSync(p).isFile();

export function defaultComposeFiles(dir: string, vars: Record<string, string | undefined>): string[] {
  const listed = vars.COMPOSE_FILE;
  if (listed) {
    const sep = vars.COMPOSE_PATH_SEPARATOR || (process.platform === 'win32' ? ';' : ':');
    return listed
      .split(sep)
      .filter(Boolean)
      .map((f) => relative(dir, f));
  }
  const main = MAIN.find((f) => isFile(path.join(dir, f)));
  if (!main)
    throw new SwitchyardError('COMPOSE_INVALID', `no compose file in ${dir} (looked for ${MAIN.join(', ')})`, {
      hint: 'run it in the folder of your compose.yaml, or name the files with -f',
    });
  const override = (OVERRIDES[main] ?? []).find((f) => isFile(path.join(dir, f)));
  return override ? [main, override] : [main];
}

/** A path as the notes show it: relative to the project folder. */
export function relative(dir: string, file: string): string {
  const rel = path.relative(dir, path.resolve(dir, file));
  return rel === '' ? '.' : rel.split(path.sep).join('/');
}

/** The project's .env (compose reads it for interpolation): its variables, or undefined when there is none. */
export function readProjectDotenv(dir: string): Record<string, string> | undefined {
  const file = path.join(dir, '.env');
  return isFile(file) ? parseDotenv(readFileSync(file, 'utf8')) : undefined;
}
