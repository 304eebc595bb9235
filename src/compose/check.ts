/**
 * The written switchyard.yml must be one switchyard loads: its text is parsed, interpolated and
 * validated with switchyard's own schema (src/config/schema.ts) and cross-key rules. The files it
 * names are not checked (the CLI writes the file; the project may be elsewhere). A failure here is
 * a bug in the converter, never the user's: a plain Error.
 */
import { parse } from 'yaml';
import { interpolateTree } from '../config/env.js';
import { formatIssues, formatProblem } from '../config/format-issues.js';
import { runRules } from '../config/rules.js';
import { configSchema } from '../config/schema.js';
import type { Vars } from './template.js';

export function checkOutput(text: string, vars: Vars): void {
  const tree = parse(text) as unknown;
  const first = interpolateTree(tree, vars);
  // A variable compose would leave empty stays empty here; switchyard will ask for it at load.
  const filled: Vars = { ...vars };
  for (const p of first.problems) filled[p.name] = '';
  const { value } = interpolateTree(tree, filled);
  const result = configSchema.safeParse(value);
  const problems = result.success ? runRules(result.data) : formatIssues(result.error.issues, value, configSchema);
  if (problems.length)
    throw new Error(
      `internal: the switchyard.yml made from compose is invalid: ${problems.map(formatProblem).join('; ')}`,
    );
}
