/**
 * Reads one compose file: YAML parsed with `yaml`, the line of every key and sequence item
 * (LineCounter over node ranges), and compose's `!reset` / `!override` tags, so that every later
 * message names the file and line a value came from.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isMap as isYamlMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { errorMessage } from '../errors.js';
import { composeError, isMap, type Json, type JsonMap, type Loc, type Path, pathKey } from './types.js';

export interface ParsedFile {
  /** Relative to the project folder. */
  file: string;
  data: JsonMap;
  /** pathKey -> location of the key (mappings) or the item (sequences). */
  locs: Map<string, Loc>;
  /** pathKey -> the compose merge tag on that value. */
  tags: Map<string, 'reset' | 'override'>;
}

export const TOP_LEVEL = ['version', 'name', 'services', 'networks', 'volumes', 'secrets', 'configs', 'include'];

export function parseComposeFile(dir: string, file: string): ParsedFile {
  const abs = path.resolve(dir, file);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (e) {
    throw composeError({ file, line: 1 }, `cannot read the file: ${errorMessage(e).split('\n')[0]}`);
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, merge: true });
  const err = doc.errors[0];
  if (err) {
    const line = err.linePos?.[0].line ?? 1;
    throw composeError(
      { file, line },
      `not valid YAML: ${(err.message.split('\n')[0] ?? '').replace(/ at line.*$/, '')}`,
    );
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw composeError({ file, line: 1 }, `YAML cannot be read: ${errorMessage(e).split('\n')[0]}`);
  }
  if (!isMap(data)) throw composeError({ file, line: 1 }, 'not a compose file: expected a mapping with services');
  const locs = new Map<string, Loc>();
  const tags = new Map<string, 'reset' | 'override'>();
  const lineOf = (n: { range?: [number, number, number] | null } | null | undefined) =>
    n?.range ? lineCounter.linePos(n.range[0]).line : 1;
  const walk = (node: Node | null | undefined, at: Path) => {
    if (!node) return;
    if (node.tag === '!reset' || node.tag === '!override')
      tags.set(pathKey(at), node.tag === '!reset' ? 'reset' : 'override');
    if (isYamlMap(node)) {
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const k = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        locs.set(pathKey([...at, k]), { file, line: lineOf(pair.key as Node) });
        walk(pair.value as Node, [...at, k]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => {
        locs.set(pathKey([...at, i]), { file, line: lineOf(item as Node) });
        walk(item as Node, [...at, i]);
      });
    }
  };
  locs.set(pathKey([]), { file, line: 1 });
  walk(doc.contents as Node, []);
  checkTopLevel(data as JsonMap, file, locs);
  return { file, data: data as { [k: string]: Json }, locs, tags };
}

function checkTopLevel(data: JsonMap, file: string, locs: Map<string, Loc>): void {
  for (const k of Object.keys(data)) {
    if (TOP_LEVEL.includes(k) || k.startsWith('x-')) continue;
    throw composeError(
      locs.get(pathKey([k])) ?? { file, line: 1 },
      `unknown top-level key "${k}": not a compose file? (compose has ${TOP_LEVEL.join(', ')} and x-*)`,
    );
  }
  if (!('services' in data)) throw composeError({ file, line: 1 }, 'not a compose file: no "services" section');
  if (!isMap(data.services))
    throw composeError(locs.get(pathKey(['services'])) ?? { file, line: 1 }, '"services" must be a mapping');
}
