/**
 * A copy of a parsed YAML or JSON tree with every string value (never a key) replaced by
 * `leaf(value, path)`; `path` holds keys and array indexes. Keys are copied with defineProperty,
 * not assignment: a "__proto__" key stays an ordinary (and so reported) key, never the object's
 * prototype smuggling in inherited settings.
 */
export function mapStrings(tree: unknown, leaf: (s: string, path: (string | number)[]) => unknown): unknown {
  const walk = (v: unknown, path: (string | number)[]): unknown => {
    if (typeof v === 'string') return leaf(v, path);
    if (Array.isArray(v)) return v.map((x, i) => walk(x, [...path, i]));
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v))
        Object.defineProperty(out, k, {
          value: walk(x, [...path, k]),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      return out;
    }
    return v;
  };
  return walk(tree, []);
}
