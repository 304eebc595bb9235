/**
 * What each compose service is to switchyard: an app service (one per colour), a shared service
 * (databases, caches, queues: one for both colours) or the proxy in front. Known images by name;
 * a service built from a Dockerfile whose last FROM names a database counts as one too. And the
 * names switchyard accepts (`a-z0-9-`, starting with a letter, at most 40).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
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

export const isPostgresImage = (image: string | undefined) => image !== undefined && POSTGRES.has(imageBase(image));
export const proxyKind = (image: string) => PROXIES[imageBase(image)];

/** The image the final stage of a Dockerfile starts from, when it is cheap to tell. */
export function dockerfileBase(dir: string, build: Json | undefined): string | undefined {
  if (!isMap(build) || typeof build.context !== 'string' || build.context.includes('://')) return undefined;
  const file = path.resolve(dir, build.context, typeof build.dockerfile === 'string' ? build.dockerfile : 'Dockerfile');
  try {
    const froms = [...readFileSync(file, 'utf8').matchAll(/^\s*FROM\s+(?:--\S+\s+)*(\S+)/gim)].map((m) => m[1]);
    return froms.at(-1);
  } catch {
    return undefined;
  }
}

export interface Classified {
  role: Role;
  /** The image that decided it (the service's, or its Dockerfile's FROM). */
  image?: string;
  fromDockerfile?: boolean;
}

export function classify(dir: string, svc: Json): Classified {
  if (!isMap(svc)) return { role: 'app' };
  const image = typeof svc.image === 'string' ? svc.image : undefined;
  if (svc.build === undefined && image) {
    if (SHARED.has(imageBase(image))) return { role: 'shared', image };
    if (proxyKind(image)) return { role: 'proxy', image };
    return { role: 'app', image };
  }
  const base = dockerfileBase(dir, svc.build);
  if (base && SHARED.has(imageBase(base))) return { role: 'shared', image: base, fromDockerfile: true };
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
