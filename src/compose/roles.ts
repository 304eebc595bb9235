/**
 * What each compose service is to switchyard: an app service (one per colour), a shared service
 * (databases, caches, queues: one for both colours) or the proxy in front. Known images by name;
 * a service built from a Dockerfile whose last FROM names a database counts as one too, and so does
 * one that shows a database's or nginx's signs (signals.ts). And the names switchyard accepts
 * (`a-z0-9-`, starting with a letter, at most 40).
 */
import { dockerfileBase } from './dockerfile.js';
import { databaseSigns, listed, nginxSigns } from './signals.js';
import { isMap, type Json } from './types.js';

export type Role = 'app' | 'shared' | 'proxy';

const SHARED = new Set([
  'postgres',
  'postgresql',
  'postgis',
  'timescaledb',
  'pgvector',
  'mysql',
  'mariadb',
  'percona',
  'percona-server',
  'redis',
  'redis-stack',
  'redis-stack-server',
  'valkey',
  'keydb',
  'dragonfly',
  'memcached',
  'mongo',
  'mongodb',
  'mongodb-community-server',
  'rabbitmq',
  'elasticsearch',
  'opensearch',
  'cassandra',
  'couchdb',
  'clickhouse-server',
  'clickhouse',
  'neo4j',
  'nats',
  'kafka',
  'zookeeper',
  'minio',
  'influxdb',
  'etcd',
]);
const POSTGRES = new Set(['postgres', 'postgresql', 'postgis', 'timescaledb', 'pgvector']);
const PROXIES: Record<string, 'nginx' | 'other'> = {
  nginx: 'nginx',
  'nginx-unprivileged': 'nginx',
  openresty: 'nginx',
  caddy: 'other',
  traefik: 'other',
  haproxy: 'other',
};

/** "docker.io/library/postgres:16-alpine" -> "postgres"; "bitnami/postgresql@sha256:..." -> "postgresql". */
export function imageBase(image: string): string {
  const noDigest = image.split('@')[0] ?? '';
  const last = noDigest.split('/').pop() ?? '';
  return (last.split(':')[0] ?? '').toLowerCase();
}

export const proxyKind = (image: string) => PROXIES[imageBase(image)];

export interface Classified {
  role: Role;
  /** The image that decided it (the service's, or its Dockerfile's FROM). */
  image?: string;
  /** A shared service's kind (postgres, mysql, redis...: its image's name); a proxy's. */
  kind?: string;
  proxy?: 'nginx' | 'other';
  /** Why, when the image name alone did not say: the note (after "services.<name>: "). */
  why?: string;
  /** The key the note is on, when not the service (build). */
  whyAt?: string;
}

const sharedKind = (image: string) => (POSTGRES.has(imageBase(image)) ? 'postgres' : imageBase(image));

/** Known images by name, a Dockerfile's last FROM, then the signs of signals.ts. */
export function classify(dir: string, svc: Json): Classified {
  if (!isMap(svc)) return { role: 'app' };
  const image = typeof svc.image === 'string' ? svc.image : undefined;
  if (svc.build === undefined && image) {
    if (SHARED.has(imageBase(image))) return { role: 'shared', image, kind: sharedKind(image) };
    const proxy = proxyKind(image);
    if (proxy) return { role: 'proxy', image, proxy };
  }
  const base = svc.build === undefined ? undefined : dockerfileBase(dir, svc.build);
  if (base && SHARED.has(imageBase(base.image))) {
    const from = base.written ? `${base.written} (${base.image})` : base.image;
    return {
      role: 'shared',
      image: base.image,
      kind: sharedKind(base.image),
      why: `built FROM ${from}`,
      whyAt: 'build',
    };
  }
  const db = databaseSigns(svc);
  if (db) return { role: 'shared', ...(image ? { image } : {}), kind: db.kind, why: listed(db.reasons) };
  const nginx = svc.build === undefined && image ? nginxSigns(svc) : [];
  if (nginx.length) return { role: 'proxy', image: image as string, proxy: 'nginx', why: listed(nginx) };
  return { role: 'app', ...(image ? { image } : {}) };
}

/** A compose service name as a switchyard name: lower case, "." and "_" as "-", from its first letter. */
export function switchyardName(name: string): string {
  const s = name
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/^[^a-z]+/, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  return s === '' || s in Object.prototype ? `svc-${s || 'x'}`.slice(0, 40) : s;
}

/** "api-blue" / "api_green" -> { base: "api", colour }. */
export function colourOf(name: string): { base: string; colour: 'blue' | 'green' } | undefined {
  const m = /^(.+)[-_](blue|green)$/.exec(name);
  return m ? { base: m[1] as string, colour: m[2] as 'blue' | 'green' } : undefined;
}
