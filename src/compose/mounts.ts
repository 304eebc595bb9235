/**
 * A service's volumes as mounts: short (`./src:/dst:ro`) and long (`{ type, source, target }`)
 * syntax, so a path inside the container can be found on the host (the proxy's nginx config).
 */
import { isMap, type Json } from './types.js';

export interface Mount {
  type: 'bind' | 'volume' | 'tmpfs' | 'other';
  source?: string;
  target: string;
  readOnly: boolean;
  /** Short-syntax options other than ro/rw (z, Z, cached...). */
  extra: string[];
  index: number;
}

const isHostPath = (s: string) => s.startsWith('.') || s.startsWith('/') || s.startsWith('~');

export function parseMount(v: Json, index: number): Mount | undefined {
  if (typeof v === 'string') {
    const parts = v.split(':');
    if (parts.length === 1) return { type: 'volume', target: v, readOnly: false, extra: [], index };
    const [source = '', target = '', opts = ''] = parts;
    const flags = opts ? opts.split(',') : [];
    return {
      type: isHostPath(source) ? 'bind' : 'volume',
      source,
      target,
      readOnly: flags.includes('ro'),
      extra: flags.filter((f) => f !== 'ro' && f !== 'rw'),
      index,
    };
  }
  if (!isMap(v) || typeof v.target !== 'string') return undefined;
  const type = v.type === 'bind' || v.type === 'volume' || v.type === 'tmpfs' ? v.type : 'other';
  const extra = Object.keys(v).filter((k) => !['type', 'source', 'target', 'read_only'].includes(k));
  return {
    type,
    ...(typeof v.source === 'string' ? { source: v.source } : {}),
    target: v.target,
    readOnly: v.read_only === true,
    extra,
    index,
  };
}

/** The host path of `containerPath` through the bind mounts, or undefined. */
export function hostPathOf(mounts: Mount[], containerPath: string): { host: string; mount: Mount } | undefined {
  const binds = mounts
    .filter((m) => m.type === 'bind' && m.source !== undefined)
    .filter((m) => containerPath === m.target || containerPath.startsWith(`${m.target.replace(/\/$/, '')}/`))
    .sort((a, b) => b.target.length - a.target.length);
  const m = binds[0];
  if (!m || m.source === undefined) return undefined;
  return { host: m.source.replace(/\/$/, '') + containerPath.slice(m.target.replace(/\/$/, '').length), mount: m };
}
