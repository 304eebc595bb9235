/**
 * Published ports: two services publishing the same host port cannot both run (compose would fail
 * to start the second); and a host port as switchyard.yml writes it, a variable kept as one.
 */
import { type Ctx, dig } from './context.js';
import { everyAddress, parsePort } from './ports.js';
import { rewriteForSwitchyard } from './rewrite.js';
import { composeError, isMap, type Path } from './types.js';

export function checkPublishedPorts(ctx: Ctx, active: string[]): void {
  const owners = new Map<string, { service: string; i: number }>();
  for (const name of active) {
    const svc = ctx.get(['services', name]);
    const ports = isMap(svc) && Array.isArray(svc.ports) ? svc.ports : [];
    ports.forEach((p, i) => {
      const spec = parsePort(p);
      if (!spec?.published) return;
      const key = `${everyAddress(spec.hostIp) ? '*' : spec.hostIp}:${spec.published}/${spec.protocol}`;
      const wildcard = `*:${spec.published}/${spec.protocol}`;
      const first = owners.get(key) ?? owners.get(wildcard);
      if (first && !(first.service === name && first.i === i)) {
        const l = ctx.loc(['services', first.service, 'ports', first.i]);
        throw composeError(
          ctx.loc(['services', name, 'ports', i]),
          `services.${name} publishes port ${spec.published}, ` +
            `already published by services.${first.service} (${l.file}:${l.line})`,
          'give each service its own host port',
        );
      }
      owners.set(key, { service: name, i });
    });
  }
}

/** The host part of a short-syntax ports item as written: `${...}` references kept whole (they hold ":"). */
function writtenHostPort(raw: string): string | undefined {
  const refs: string[] = [];
  let masked = '';
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] !== '$' || raw[i + 1] !== '{') {
      masked += raw[i];
      continue;
    }
    let depth = 0;
    let j = i;
    for (; j < raw.length; j++) {
      if (raw[j] === '{') depth++;
      else if (raw[j] === '}' && --depth === 0) break;
    }
    masked += `\u0000${refs.push(raw.slice(i, j + 1)) - 1}\u0001`;
    i = j;
  }
  return parsePort(masked)?.published?.replace(/\u0000(\d+)\u0001/g, (_, n) => refs[Number(n)] as string);
}

/**
 * The host port of the ports item at `at` for switchyard.yml: a variable stays one when the whole
 * port is a `${NAME}` or `${NAME:-number}` switchyard reads (`listen.http: "${PORT:-8080}"`), else
 * `resolved`, compose's value now (which every decision uses).
 */
export function publishedPort(ctx: Ctx, at: Path, resolved: string): number | string {
  const item = dig(ctx.model.data, at);
  const raw = isMap(item) ? item.published : item;
  const written = typeof raw === 'string' ? (isMap(item) ? raw : writtenHostPort(raw)) : undefined;
  if (written?.includes('$')) {
    const r = rewriteForSwitchyard(written, ctx.vars);
    if (/^\$\{[A-Za-z_]\w*(:-\d+)?\}$/.test(r.text)) {
      for (const n of r.notes) ctx.decide(at, `${at.join('.')}: ${n}`);
      return r.text;
    }
  }
  return /^\d+$/.test(resolved) ? Number(resolved) : resolved;
}
