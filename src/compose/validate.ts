/**
 * Validates the merged, interpolated compose model against the Compose Specification's JSON Schema
 * (spec.ts) with ajv (draft 2019-09). Each problem names the file and line its value came from.
 */
import { Ajv2019 } from 'ajv/dist/2019.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { SwitchyardError } from '../errors.js';
import { locate } from './interpolate.js';
import type { ParsedFile } from './parse.js';
import { composeSpecSchema } from './spec.js';
import { COMPOSE_HINT, type Json, type Path } from './types.js';

let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  if (compiled) return compiled;
  const ajv = new Ajv2019({
    strict: false,
    allErrors: true,
    // Compose casts interpolated text ("3" for retries); so does the validation.
    coerceTypes: true,
    logger: false,
    formats: { duration: true, expose: true, ports: true, subnet_ip_address: true },
  });
  compiled = ajv.compile(composeSpecSchema());
  return compiled;
}

const toPath = (pointer: string): Path =>
  pointer === ''
    ? []
    : pointer
        .slice(1)
        .split('/')
        .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'))
        .map((s) => (/^\d+$/.test(s) ? Number(s) : s));

function describe(e: ErrorObject): { at: Path; message: string } {
  const at = toPath(e.instancePath);
  const where = at.length ? at.join('.') : 'the top level';
  if (e.keyword === 'additionalProperties') {
    const key = String((e.params as { additionalProperty: string }).additionalProperty);
    return { at: [...at, key], message: `${where}: unknown key "${key}"` };
  }
  return { at, message: `${where}: ${e.message ?? 'invalid'}` };
}

/** Throws COMPOSE_INVALID with every problem (the first in the message) when the model breaks the spec. */
export function validateCompose(model: ParsedFile, value: Json): void {
  const check = validator();
  if (check(structuredClone(value))) return;
  // oneOf/anyOf report every branch; the deepest problem of each place is the telling one.
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const e of check.errors ?? []) {
    if (e.keyword === 'oneOf' || e.keyword === 'anyOf') continue;
    const d = describe(e);
    const l = locate(model, d.at);
    const line = `${l.file}:${l.line}: ${d.message} (Compose Specification)`;
    if (!seen.has(line)) lines.push(line);
    seen.add(line);
  }
  if (lines.length === 0) lines.push(`${model.file}:1: does not match the Compose Specification`);
  throw new SwitchyardError('COMPOSE_INVALID', lines[0] as string, { details: lines.slice(1), hint: COMPOSE_HINT });
}
