/**
 * Puts the forms compose accepts for one thing into one form before files are merged, as compose
 * does: `environment`, `labels` and `build.args` lists become mappings, a `depends_on` list a
 * mapping with `condition: service_started`, a string `build` a `{ context }`, a string `env_file`
 * a list, `expose` items strings. Locations move with the values.
 */
import type { ParsedFile } from './parse.js';
import { isMap, type Json, type JsonMap, type Path, pathKey, setKey } from './types.js';

const LIST_OR_DICT = ['environment', 'labels', 'annotations', 'sysctls'];

function moveLoc(f: ParsedFile, from: Path, to: Path): void {
  const l = f.locs.get(pathKey(from));
  if (l) f.locs.set(pathKey(to), l);
}

function listToDict(f: ParsedFile, at: Path, list: Json[], pairs: boolean): JsonMap {
  const out: JsonMap = {};
  list.forEach((item, i) => {
    const s = String(item);
    const eq = s.indexOf('=');
    const [k, v] =
      pairs && eq >= 0 ? [s.slice(0, eq), s.slice(eq + 1)] : [s, pairs ? null : { condition: 'service_started' }];
    setKey(out, k, v as Json);
    moveLoc(f, [...at, i], [...at, k]);
  });
  return out;
}

export function normalizeFile(f: ParsedFile): void {
  const services = f.data.services;
  if (!isMap(services)) return;
  for (const [name, svc] of Object.entries(services)) {
    if (!isMap(svc)) continue;
    const at = (k: string): Path => ['services', name, k];
    for (const k of LIST_OR_DICT) {
      const v = svc[k];
      if (Array.isArray(v)) svc[k] = listToDict(f, at(k), v, true);
    }
    if (Array.isArray(svc.depends_on)) svc.depends_on = listToDict(f, at('depends_on'), svc.depends_on, false);
    if (typeof svc.build === 'string') {
      svc.build = { context: svc.build };
      moveLoc(f, at('build'), [...at('build'), 'context']);
    }
    if (isMap(svc.build) && Array.isArray(svc.build.args))
      svc.build.args = listToDict(f, [...at('build'), 'args'], svc.build.args, true);
    if (typeof svc.env_file === 'string') {
      svc.env_file = [svc.env_file];
      moveLoc(f, at('env_file'), [...at('env_file'), 0]);
    }
    if (Array.isArray(svc.expose)) svc.expose = svc.expose.map((e) => (typeof e === 'number' ? String(e) : e));
  }
}
