/**
 * Pieces of a container spec shared by colour and shared services: mounts, healthcheck, command,
 * restart policy and published ports, translated from switchyard.yml to the Engine API's shapes.
 */
import path from 'node:path';
import type Docker from 'dockerode';
import type { Command, DockerHealthcheck } from '../../config/schema.js';
import { call, statusOf } from './client.js';
import { LABEL, volumeName } from './names.js';

/** Docker durations are nanoseconds. */
const NS_PER_MS = 1_000_000;

export interface Mounts {
  binds: string[];
  /** Named volumes to create (labelled) before the container. */
  volumes: string[];
}

/** "name:/path[:ro]" is a named volume (prefixed with the app); "./x:/path" or "/x:/path" a host folder. */
export function mounts(app: string, projectDir: string, specs: string[]): Mounts {
  const binds: string[] = [];
  const volumes: string[] = [];
  for (const spec of specs) {
    const [src = '', ...rest] = spec.split(':');
    const isPath = src.startsWith('.') || src.startsWith('/') || src.startsWith('~');
    if (isPath) binds.push([path.resolve(projectDir, src), ...rest].join(':'));
    else {
      const v = volumeName(app, src);
      volumes.push(v);
      binds.push([v, ...rest].join(':'));
    }
  }
  return { binds, volumes };
}

/**
 * Creates the named volumes with our labels (so `down --volumes` and tests find them); existing ones are kept as they
 * are.
 */
export async function ensureVolumes(docker: Docker, app: string, names: string[]): Promise<void> {
  for (const name of names) {
    try {
      await call(`inspect volume ${name}`, () => docker.getVolume(name).inspect());
    } catch (e) {
      if (statusOf(e) !== 404) throw e;
      await call(`create volume ${name}`, () => docker.createVolume({ Name: name, Labels: { [LABEL.app]: app } }));
    }
  }
}

export function healthcheck(h: DockerHealthcheck | undefined): Docker.HealthConfig | undefined {
  if (!h) return undefined;
  return {
    Test: h.test,
    ...(h.interval !== undefined ? { Interval: h.interval * NS_PER_MS } : {}),
    ...(h.timeout !== undefined ? { Timeout: h.timeout * NS_PER_MS } : {}),
    ...(h.startPeriod !== undefined ? { StartPeriod: h.startPeriod * NS_PER_MS } : {}),
    ...(h.retries !== undefined ? { Retries: h.retries } : {}),
  };
}

/**
 * The container's Cmd. An array runs as given; a string is split on whitespace like the process
 * runtime does (no quoting rules, no shell: write ["sh", "-c", "..."] for one). Empty = the image's CMD.
 */
export function cmd(command: Command | undefined): string[] | undefined {
  if (command === undefined) return undefined;
  const argv = Array.isArray(command)
    ? command
    : command
        .trim()
        .split(/\s+/)
        .filter((w) => w.length > 0);
  return argv.length > 0 ? argv : undefined;
}

export function restartPolicy(name: string): { Name: string; MaximumRetryCount?: number } {
  return name === 'no' || name === 'never' ? { Name: '' } : { Name: name };
}

/**
 * The containers' log options from `logs:` (issue 12, part 6): json-file (what `switchyard logs`
 * and `docker logs` read), rotated by Docker itself at max-size, keeping max-file files in all.
 */
export function logConfig(logs: { maxSize: number; keep: number }): { Type: string; Config: Record<string, string> } {
  return {
    Type: 'json-file',
    Config: { 'max-size': `${Math.max(1, Math.floor(logs.maxSize / 1024))}k`, 'max-file': String(logs.keep + 1) },
  };
}

/** "[ip:]host:container" -> binding; without an ip the port is published on 127.0.0.1 only. */
export function publishSpec(spec: string): { containerPort: string; hostIp: string; hostPort: string } {
  const parts = spec.split(':');
  const [hostIp, hostPort, containerPort] = parts.length === 3 ? parts : ['127.0.0.1', ...parts];
  return { hostIp: hostIp!, hostPort: hostPort!, containerPort: `${containerPort}/tcp` };
}

/** The ms value in whole seconds, at least 1 (Docker's stop timeout unit). */
export const seconds = (ms: number): number => Math.max(1, Math.ceil(ms / 1000));
