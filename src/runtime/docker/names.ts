/**
 * Every name and label switchyard gives Docker objects, in one place. Labels, not names, are how
 * we find our objects again: names can be taken by someone else, labels say who owns what.
 */
import type { Colour } from '../../config/schema.js';

export const LABEL = {
  app: 'switchyard.app',
  service: 'switchyard.service',
  colour: 'switchyard.colour',
  release: 'switchyard.release',
  /** "colour" for blue/green containers, "shared" for shared services. */
  role: 'switchyard.role',
  commit: 'switchyard.commit',
  created: 'switchyard.created',
  /** The instance number (1..N) of a colour container (services.<name>.instances); absent: 1. */
  instance: 'switchyard.instance',
} as const;

export type Role = 'colour' | 'shared';

/** `-<N>` after a colour container's name and alias for instance N >= 2; instance 1 has none. */
const instanceSuffix = (instance: number): string => (instance === 1 ? '' : `-${instance}`);

/**
 * `<app>-<service>-<colour>`, as the guide's `ala-api-blue`, for instance 1 (what a service with one
 * instance always was); `<app>-<service>-<colour>-<N>` for instance N >= 2.
 */
export const containerName = (app: string, service: string, colour: Colour, instance = 1): string =>
  `${app}-${service}-${colour}${instanceSuffix(instance)}`;
/** Shared services have one container, whatever the colour: `<app>-<name>`. */
export const sharedContainerName = (app: string, name: string): string => `${app}-${name}`;
/** All of an app's containers share it, so a proxy container reaches `api-blue` by name. */
export const networkName = (app: string): string => `${app}-net`;
/** The alias a colour's service instance has on the app network: `<service>-<colour>[-<N>]`. */
export const networkAlias = (service: string, colour: Colour, instance = 1): string =>
  `${service}-${colour}${instanceSuffix(instance)}`;

/** The instance number a container's labels give: `switchyard.instance`, 1 when absent (made before it existed). */
export function instanceOf(labels: Record<string, string> | undefined): number {
  const n = Number(labels?.[LABEL.instance]);
  return Number.isInteger(n) && n >= 1 ? n : 1;
}
export const imageRepo = (app: string, service: string): string => `${app}-${service}`;
export const imageTag = (app: string, service: string, release: string): string =>
  `${imageRepo(app, service)}:${release}`;
/** Shared services built from a context have one image, rebuilt only when missing. */
export const sharedImageTag = (app: string, name: string): string => `${imageRepo(app, name)}:shared`;
/** Named volumes are per app, so two apps on one engine never share a "pgdata" by accident. */
export const volumeName = (app: string, name: string): string => `${app}-${name}`;

/** Label filters for listContainers/listImages/listVolumes. */
export function labelFilter(
  app: string,
  extra: Partial<Record<'service' | 'colour' | 'release' | 'role', string>> = {},
): { label: string[] } {
  const label = [`${LABEL.app}=${app}`];
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) label.push(`${LABEL[k as keyof typeof extra]}=${v}`);
  return { label };
}
