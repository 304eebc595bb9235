/** Picks the Runtime for a project: local processes, Docker containers or Docker Swarm services. */
import { createDockerRuntime } from './docker/index.js';
import { createProcessRuntime } from './process/index.js';
import { createSwarmRuntimeFromConfig } from './swarm/connect.js';
import type { Runtime, RuntimeContext } from './types.js';

export function createRuntime(ctx: RuntimeContext): Runtime {
  switch (ctx.config.runtime) {
    case 'process':
      return createProcessRuntime(ctx);
    case 'docker':
      return createDockerRuntime(ctx);
    case 'swarm':
      // Made at once; its operations check the manager (swarm.manager) on first use, as docker's connect.
      return createSwarmRuntimeFromConfig(ctx);
    default: {
      const kind: never = ctx.config.runtime;
      throw new Error(`unknown runtime ${String(kind)}`);
    }
  }
}

export type * from './types.js';
export { createProcessRuntime } from './process/index.js';
export { createDockerRuntime } from './docker/index.js';
