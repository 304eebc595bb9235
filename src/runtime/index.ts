/** Picks the Runtime for a project. Only `process` exists today; docker will join it here. */
import { createProcessRuntime } from './process/index.js';
import type { Runtime, RuntimeContext } from './types.js';

export function createRuntime(ctx: RuntimeContext): Runtime {
  switch (ctx.config.runtime) {
    case 'process':
      return createProcessRuntime(ctx);
    default: {
      const kind: never = ctx.config.runtime;
      throw new Error(`unknown runtime ${String(kind)}`);
    }
  }
}

export type * from './types.js';
export { createProcessRuntime } from './process/index.js';
