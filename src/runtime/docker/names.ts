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
} as const;

export type Role = 'colour' | 'shared';

/** `<app>-<service>-<colour>`, as the guide's `ala-api-blue`. */
export const containerName = (app: string, service: string, colour: Colour): string => `${app}-${service}-${colour}`;
/** Shared services have one container, whatever the colour: `<app>-<name>`. */
export const sharedContainerName = (app: string, name: string): string => `${app}-${name}`;
/** All of an app's containers share it, so a proxy container reaches `api-blue` by name. */
export const networkName = (app: string): string => `${app}-net`;
/** The alias a colour's service has on the app network (and in nginx upstreams). */
export const networkAlias = (service: string, colour: Colour): string => `${service}-${colour}`;
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
