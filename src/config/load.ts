/**
 * Reads switchyard.yml: find the file, parse YAML, interpolate variables, validate with the schema,
 * then (only on a config the schema accepted) run the cross-field rules and check the files it
 * names, and resolve each service's environment and the secrets to hide. The problems of a stage
 * are reported all at once in one SwitchyardError (exit 2).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { errorMessage, redactError, SwitchyardError } from '../errors.js';
import { configSchema } from './schema.js';
import type { LoadedConfig } from './loaded.js';
import { interpolate, interpolateTree, parseDotenv, SECRET_NAME } from './env.js';
import { formatIssues, formatProblem, printable, type Problem } from './format-issues.js';
import { fileProblems } from './files.js';
import { runRules } from './rules.js';
import { makeRedactor } from './redact.js';
import { secretsInTree } from './secrets.js';

export interface LoadOptions {
  /** Config file, relative to cwd; default <cwd>/switchyard.yml, then switchyard.yaml. */
  file?: string;
  cwd: string;
  /** Variables for `${NAME}`; default process.env. They win over the env_file's. */
  env?: NodeJS.ProcessEnv;
}

const DEFAULT_NAMES = ['switchyard.yml', 'switchyard.yaml'];
const NOT_FOUND_HINT = 'create switchyard.yml or pass -c FILE';
const MIN_SECRET_LENGTH = 4; // shorter values ("1", "dev") would blank out ordinary output

export function findConfigFile(opts: { file?: string; cwd: string }): string {
  if (opts.file !== undefined) {
    const file = path.resolve(opts.cwd, opts.file);
    if (!existsSync(file) || !statSync(file).isFile())
      throw new SwitchyardError('CONFIG_NOT_FOUND', `config file not found: ${printable(file)}`, {
        hint: NOT_FOUND_HINT,
      });
    return file;
  }
  for (const name of DEFAULT_NAMES) {
    const file = path.resolve(opts.cwd, name);
    if (existsSync(file)) return file;
  }
  throw new SwitchyardError('CONFIG_NOT_FOUND', `no switchyard.yml in ${printable(path.resolve(opts.cwd))}`, {
    hint: NOT_FOUND_HINT,
  });
}

function invalid(file: string, problems: Problem[], onlyEnv: boolean): SwitchyardError {
  const n = problems.length;
  const name = printable(path.basename(file));
  return new SwitchyardError(
    onlyEnv ? 'ENV_MISSING' : 'CONFIG_INVALID',
    `${name} is invalid (${n} problem${n === 1 ? '' : 's'})`,
    {
      details: problems.map(formatProblem),
      hint: onlyEnv
        ? 'set it in the environment or in the env_file'
        : `fix ${name}; its JSON Schema is schema/switchyard.schema.json`,
    },
  );
}

/** Parse the YAML text; syntax errors become problems naming line and column. */
function parseYaml(text: string, file: string): { data?: unknown; problems: Problem[] } {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    const problems = doc.errors.map((e) => {
      const pos = e.linePos?.[0];
      const where = pos ? `${path.basename(file)}:${pos.line}:${pos.col}` : path.basename(file);
      return {
        path: where,
        message: `YAML syntax error: ${(e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}`,
      };
    });
    return { problems };
  }
  let data: unknown;
  try {
    // toJS refuses alias bombs ("billion laughs") with a ReferenceError: a problem like any other.
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    return {
      problems: [
        { path: path.basename(file), message: `YAML cannot be read: ${errorMessage(e).split('\n')[0] ?? ''}` },
      ],
    };
  }
  if (data === null || data === undefined)
    return { problems: [{ path: '', message: 'the file is empty; at least app, proxy and services are needed' }] };
  if (typeof data !== 'object' || Array.isArray(data))
    return { problems: [{ path: '', message: 'expected a mapping (key: value) at the top level', got: data }] };
  return { data, problems: [] };
}

/**
 * Keys that JavaScript objects treat specially. yaml keeps "__proto__" as an ordinary key, but zod
 * silently drops it from mappings such as `services`: report it instead of ignoring part of the file.
 */
const RESERVED_KEYS = new Set(['__proto__']);

function reservedKeyProblems(tree: unknown, at: string[] = []): Problem[] {
  if (Array.isArray(tree)) return tree.flatMap((v, i) => reservedKeyProblems(v, [...at, String(i)]));
  if (tree === null || typeof tree !== 'object') return [];
  return Object.entries(tree).flatMap(([k, v]) =>
    RESERVED_KEYS.has(k)
      ? [{ path: [...at, k].join('.'), message: `"${k}" is not allowed as a key` }]
      : reservedKeyProblems(v, [...at, k]),
  );
}

function readEnvFile(file: string): Record<string, string> | undefined {
  try {
    if (!statSync(file).isFile()) return undefined;
    return parseDotenv(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

export async function loadConfig(opts: LoadOptions): Promise<LoadedConfig> {
  const file = findConfigFile(opts);
  const projectDir = path.dirname(file);
  const env = opts.env ?? process.env;
  const parsed = parseYaml(readFileSync(file, 'utf8'), file);
  if (!parsed.data) throw invalid(file, parsed.problems, false);
  const raw = parsed.data as Record<string, unknown>;

  const problems: Problem[] = [];
  const secretValues: string[] = [];
  // The top-level env_file feeds interpolation, so its own name may only use the real environment.
  let fileVars: Record<string, string> = {};
  if (typeof raw.env_file === 'string') {
    const name = interpolate(raw.env_file, env).value;
    const vars = readEnvFile(path.resolve(projectDir, name));
    if (vars) fileVars = vars;
    else
      problems.push({
        path: 'env_file',
        message: `file not found: ${path.resolve(projectDir, name)}`,
        got: raw.env_file,
      });
    secretValues.push(...Object.values(fileVars));
  }
  const vars: Record<string, string | undefined> = { ...fileVars, ...env };
  const tree = interpolateTree(raw, vars);
  const envProblems: Problem[] = tree.problems.map((p) => ({
    path: p.path,
    message: `variable \${${p.name}} is not set`,
  }));

  const result = configSchema.safeParse(tree.value);
  // A missing variable also makes its value invalid; report the cause, not the symptom.
  const underEnvProblem = (p: Problem) => envProblems.some((e) => p.path === e.path || p.path.startsWith(`${e.path}.`));
  const reserved = reservedKeyProblems(tree.value);
  const isReserved = (p: Problem) => reserved.some((r) => r.path === p.path);
  const schemaProblems = result.success
    ? []
    : formatIssues(result.error.issues, tree.value, configSchema).filter((p) => !underEnvProblem(p) && !isReserved(p));
  problems.push(...envProblems, ...reserved, ...schemaProblems);
  // The schema first: the rules and the file checks read only a config it validated.
  if (result.success && problems.length === 0) {
    problems.push(...runRules(result.data), ...fileProblems(result.data, projectDir));
  }
  if (problems.length || !result.success) {
    // A problem line quotes the bad value, which may be a secret: hide what we know to be one.
    const known = [...secretValues, ...[...tree.used].filter((n) => SECRET_NAME.test(n)).map((n) => vars[n] ?? '')];
    throw redactError(
      invalid(file, problems, problems.length === envProblems.length),
      makeRedactor(known.filter((v) => v.length >= MIN_SECRET_LENGTH)),
    );
  }

  const serviceEnv: Record<string, Record<string, string>> = {};
  for (const [name, svc] of Object.entries(result.data.services)) {
    const own = svc.env_file ? (readEnvFile(path.resolve(projectDir, svc.env_file)) ?? {}) : {};
    secretValues.push(...Object.values(own));
    for (const [k, v] of Object.entries(svc.env)) if (SECRET_NAME.test(k)) secretValues.push(v);
    serviceEnv[name] = { ...fileVars, ...own, ...svc.env };
  }
  for (const name of tree.used) if (SECRET_NAME.test(name)) secretValues.push(vars[name] ?? '');
  secretValues.push(...secretsInTree(result.data));
  const secrets = [...new Set(secretValues.filter((s) => s.length >= MIN_SECRET_LENGTH))].sort(
    (a, b) => b.length - a.length,
  );

  return { config: result.data, file, projectDir, serviceEnv, secrets };
}
