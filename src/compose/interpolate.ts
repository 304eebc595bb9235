/**
 * Interpolates the merged compose model as compose does (every string value, never keys), for the
 * converter's decisions. A missing required variable or a malformed reference is an error naming
 * the file and line it came from.
 */
import type { ParsedFile } from './parse.js';
import { mapStrings } from '../util/tree.js';
import { parseTemplate, resolveParts, TemplateError, type Vars } from './template.js';
import { composeError, type Json, type Loc, type Path, pathKey } from './types.js';

/** The location of `at`, or of the nearest enclosing key that has one. */
export function locate(f: ParsedFile, at: Path): Loc {
  for (let n = at.length; n >= 0; n--) {
    const l = f.locs.get(pathKey(at.slice(0, n)));
    if (l) return l;
  }
  return { file: f.file, line: 1 };
}

export interface Interpolated {
  value: Json;
  /** Variables referenced with no value and no default, and where. */
  unset: { name: string; at: Path }[];
}

export function interpolateModel(f: ParsedFile, vars: Vars): Interpolated {
  const unset: Interpolated['unset'] = [];
  const value = mapStrings(f.data, (s, at) => {
    try {
      const missing: string[] = [];
      const r = resolveParts(parseTemplate(s), vars, missing);
      for (const name of missing) unset.push({ name, at });
      return r.value;
    } catch (e) {
      if (e instanceof TemplateError) throw composeError(locate(f, at), e.message);
      throw e;
    }
  }) as Json;
  return { value, unset };
}
