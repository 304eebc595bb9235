/** `{{var}}` templates and the tiny JSON path ("$.a.b[0]") used by smoke-step captures. */

const VAR = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

export class TemplateError extends Error {
  override name = 'TemplateError';
}

/** Replace every `{{name}}`; an unknown name is an error (a typo must not send "{{tokn}}" to the API). */
export function fillTemplate(text: string, vars: Record<string, string>): string {
  return text.replace(VAR, (_, name: string) => {
    if (!Object.hasOwn(vars, name)) {
      const known = Object.keys(vars);
      throw new TemplateError(
        `unknown variable {{${name}}} (captured so far: ${known.length ? known.join(', ') : 'none'})`,
      );
    }
    return vars[name] as string;
  });
}

/** Fill templates in every string of a JSON value (keys stay as written). */
export function fillJson(value: unknown, vars: Record<string, string>): unknown {
  if (typeof value === 'string') return fillTemplate(value, vars);
  if (Array.isArray(value)) return value.map((v) => fillJson(v, vars));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillJson(v, vars)]));
  }
  return value;
}

/** "$.data.items[0].id" -> ["data", "items", 0, "id"]; undefined when it is not that simple form. */
export function parseJsonPath(path: string): (string | number)[] | undefined {
  if (!path.startsWith('$')) return undefined;
  const parts: (string | number)[] = [];
  const re = /\.([A-Za-z_$][\w$-]*)|\[(\d+)\]/y;
  re.lastIndex = 1;
  while (re.lastIndex < path.length) {
    const m = re.exec(path);
    if (!m) return undefined;
    parts.push(m[1] !== undefined ? m[1] : Number(m[2]));
  }
  return parts;
}

/** Evaluate a path; undefined when any step is missing. */
export function evalJsonPath(root: unknown, path: string): unknown {
  const parts = parseJsonPath(path);
  if (!parts) return undefined;
  let v: unknown = root;
  for (const p of parts) {
    if (v === null || typeof v !== 'object') return undefined;
    if (typeof p === 'number' && !Array.isArray(v)) return undefined;
    v = (v as Record<string | number, unknown>)[p];
  }
  return v;
}

/** Captured values become strings for templates; objects as JSON. */
export function captureText(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}
