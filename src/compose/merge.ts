/**
 * Merges compose files in order with compose's rules (compose-spec merge.md): mappings merged key
 * by key, scalars replaced, sequences appended, except `command`, `entrypoint` and
 * `healthcheck.test` (replaced) and the unique resources (`ports`, `expose`, `volumes` by target,
 * `secrets` and `configs` by target, `env_file`, `dns`...: a later equal item replaces the earlier);
 * `!reset` removes a value, `!override` replaces it whole. Locations follow the values.
 */
import type { ParsedFile } from './parse.js';
import { isMap, type Json, type Path, pathKey, under } from './types.js';

const REPLACED = new Set(['command', 'entrypoint']);
const UNIQUE = new Set(['ports', 'expose', 'env_file', 'dns', 'dns_search', 'devices', 'cap_add', 'cap_drop']);
const BY_TARGET = new Set(['volumes', 'secrets', 'configs']);

/** What makes two items of a unique sequence the same one. */
function identity(kind: string, item: Json): string {
  if (BY_TARGET.has(kind)) {
    if (isMap(item)) return String(item.target ?? item.source ?? JSON.stringify(item));
    const parts = String(item).split(':');
    return kind === 'volumes' ? (parts.length > 1 ? (parts[1] ?? '') : (parts[0] ?? '')) : (parts[0] ?? '');
  }
  return isMap(item) ? JSON.stringify(item) : String(item);
}

/** Copies `over`'s locations under `from` to `to` in `into`, dropping what was there. */
function take(into: ParsedFile, over: ParsedFile, from: Path, to: Path): void {
  for (const k of [...into.locs.keys()]) if (under(k, to)) into.locs.delete(k);
  const head = pathKey(from).slice(0, -1);
  for (const [k, l] of over.locs) if (under(k, from)) into.locs.set(pathKey(to).slice(0, -1) + k.slice(head.length), l);
}

function mergeValue(into: ParsedFile, over: ParsedFile, at: Path, a: Json | undefined, b: Json): Json {
  const tag = over.tags.get(pathKey(at));
  const last = String(at[at.length - 1]);
  const replaced =
    tag === 'override' ||
    (at.length === 3 && at[0] === 'services' && REPLACED.has(last)) ||
    (at.length === 4 && at[2] === 'healthcheck' && last === 'test');
  if (a === undefined || replaced || !(isMap(a) === isMap(b) && Array.isArray(a) === Array.isArray(b))) {
    take(into, over, at, at);
    return b;
  }
  if (isMap(a) && isMap(b)) {
    for (const [k, v] of Object.entries(b)) {
      if (over.tags.get(pathKey([...at, k])) === 'reset') {
        delete a[k];
        for (const key of [...into.locs.keys()]) if (under(key, [...at, k])) into.locs.delete(key);
        continue;
      }
      Object.defineProperty(a, k, {
        value: mergeValue(into, over, [...at, k], a[k], v),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return a;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    const unique = at.length === 3 && at[0] === 'services' && (UNIQUE.has(last) || BY_TARGET.has(last));
    b.forEach((item, j) => {
      const idx = unique ? a.findIndex((x) => identity(last, x) === identity(last, item)) : -1;
      const to = idx >= 0 ? idx : a.length;
      a[to] = item;
      take(into, over, [...at, j], [...at, to]);
    });
    return a;
  }
  take(into, over, at, at);
  return b;
}

/** Merges the files in order into the first (which it changes). */
export function mergeFiles(files: ParsedFile[]): ParsedFile {
  const [first, ...rest] = files;
  if (!first) throw new Error('mergeFiles: no file');
  for (const over of rest) {
    for (const [k, v] of Object.entries(over.data)) {
      if (over.tags.get(pathKey([k])) === 'reset') {
        delete first.data[k];
        continue;
      }
      first.data[k] = mergeValue(first, over, [k], first.data[k], v);
    }
  }
  return first;
}
