/** Compose `ports` entries, short (`"127.0.0.1:8080:80/tcp"`) or long (`{ target, published }`), read alike. */
import { isMap, type Json } from './types.js';

export interface PortSpec {
  hostIp?: string;
  /** The host port (or range), when published on a fixed one. */
  published?: string;
  target?: number;
  protocol: string;
}

export function parsePort(v: Json): PortSpec | undefined {
  if (isMap(v)) {
    const target = Number(v.target);
    return {
      ...(v.host_ip ? { hostIp: String(v.host_ip) } : {}),
      ...(v.published !== undefined && v.published !== null && v.published !== ''
        ? { published: String(v.published) }
        : {}),
      ...(Number.isInteger(target) ? { target } : {}),
      protocol: v.protocol ? String(v.protocol) : 'tcp',
    };
  }
  if (typeof v !== 'string' && typeof v !== 'number') return undefined;
  let s = String(v);
  let protocol = 'tcp';
  const slash = s.lastIndexOf('/');
  if (slash >= 0) {
    protocol = s.slice(slash + 1);
    s = s.slice(0, slash);
  }
  let hostIp: string | undefined;
  const v6 = /^\[([^\]]+)\]:(.*)$/.exec(s);
  if (v6) {
    hostIp = v6[1];
    s = v6[2] ?? '';
  }
  const parts = s.split(':');
  if (!hostIp && parts.length === 3) hostIp = parts.shift();
  const [a, b] = parts;
  const targetText = b ?? a ?? '';
  const target = /^\d+$/.test(targetText) ? Number(targetText) : undefined;
  return {
    ...(hostIp ? { hostIp } : {}),
    ...(b !== undefined && a ? { published: a } : {}),
    ...(target !== undefined ? { target } : {}),
    protocol,
  };
}

/** "0.0.0.0", "::" and no address all mean every address. */
export const everyAddress = (ip?: string) => ip === undefined || ip === '' || ip === '0.0.0.0' || ip === '::';
