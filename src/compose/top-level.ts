/** Notes on compose's top-level sections: what switchyard does with volumes, and what it cannot carry over. */
import type { Ctx } from './context.js';
import { isMap } from './types.js';

export function topLevelNotes(ctx: Ctx): void {
  for (const [k, v] of Object.entries(ctx.val)) {
    if (k === 'version') ctx.decide([k], 'version: obsolete in compose, ignored');
    else if (k.startsWith('x-')) ctx.decide([k], `${k}: an extension field, used through its YAML anchors`);
    else if (k === 'include') ctx.refuse([k], 'include: the included files are not read; pass them with -f');
    else if (k === 'networks' || k === 'secrets' || k === 'configs') {
      for (const name of Object.keys(isMap(v) ? v : {}))
        ctx.refuse(
          [k, name],
          `${k}.${name}: ${k === 'networks' ? 'switchyard uses one network, <app>-net' : `switchyard has no ${k}`}`,
        );
    } else if (k === 'volumes') {
      for (const [name, spec] of Object.entries(isMap(v) ? v : {})) {
        const opts = isMap(spec) ? Object.keys(spec) : [];
        if (opts.length)
          ctx.refuse([k, name], `volumes.${name}: ${opts.join(', ')} not carried over: switchyard makes <app>-${name}`);
        else ctx.decide([k, name], `volumes.${name}: switchyard creates it as <app>-${name}`);
      }
    }
  }
}
