/**
 * switch <colour>: move traffic to an already running colour (refusing an unhealthy one unless
 * forced). With --weight P below 100: a sticky share of clients on the other colour while the
 * active one keeps the rest (--weight 0 ends the split); state.json's active colour does not
 * change then (it names who serves everyone else); the proxy's status and `status` show the split.
 */
import type { Colour } from '../config/schema.js';
import type { Plan } from '../plan/actions.js';
import { assembleSplit, assembleSwitch } from '../plan/switch.js';
import type { Facts } from '../plan/facts.js';
import type { Engine } from './context.js';
import { execute } from './execute.js';
import { gatherFacts } from './facts.js';
import { runOperation } from './operation.js';
import { checkColour, checkOptions, switchOptions } from './options.js';
import { openProxy } from './proxy.js';

export interface SwitchOptions {
  force?: boolean;
  forceUnlock?: boolean;
  /** Percent of clients to send to `to` (sticky); 100 or absent = all traffic, 0 = end a split. */
  weight?: number;
}

const isSplit = (o: SwitchOptions): o is SwitchOptions & { weight: number } => o.weight !== undefined && o.weight < 100;

function assemble(f: Facts, to: Colour, opts: SwitchOptions): Plan {
  const i = { force: !!opts.force };
  return isSplit(opts) ? assembleSplit(f, to, opts.weight, i) : assembleSwitch(f, to, i);
}

/** What `switch` would do now (`--plan`): read-only, takes no lock, changes nothing. */
export async function switchPlan(e: Engine, to: Colour, opts: SwitchOptions = {}): Promise<Plan> {
  checkColour('switch', to);
  checkOptions('switch', switchOptions, opts);
  return assemble(await gatherFacts(e), to, opts);
}

export async function switchTraffic(
  e: Engine,
  to: Colour,
  opts: SwitchOptions = {},
): Promise<{ id: string; from: Colour | null; to: Colour; ms: number }> {
  checkColour('switch', to);
  checkOptions('switch', switchOptions, opts);
  const split = isSplit(opts);
  const flags = [...(split ? [`weight=${opts.weight}`] : []), ...(opts.force ? ['force'] : [])];
  // --force is the manual repair: it may replace an interrupted operation's journal; otherwise recover first.
  const interrupted = opts.force && !split ? 'replace' : 'refuse';
  return runOperation(e, 'switch', { forceUnlock: opts.forceUnlock, flags, interrupted, to }, async (op) => {
    // --force: on a swarm, the edge nodes that answer are switched, those that do not are named.
    const { control: proxy } = await openProxy(e, { skipUnreachable: !!opts.force });
    const plan = assemble(await gatherFacts(e, { ownLock: true }), to, opts);
    Object.assign(op, { from: plan.from, to, release: plan.release, ...(split ? { weight: opts.weight } : {}) });
    await execute({ e, op, proxy, done: [] }, plan);
    const ms = op.elapsed();
    if (!split) e.reporter.info(`✓ ${to} is live`);
    else if (opts.weight === 0) e.reporter.info(`✓ every client is on ${plan.from}`);
    else {
      const p = opts.weight!;
      e.reporter.info(
        `✓ ${p}% of clients on ${to}, ${100 - p}% on ${plan.from}` +
          `; \`switchyard switch ${to}\` moves everyone` +
          `, \`switchyard switch ${to} --weight 0\` ends the split`,
      );
    }
    const weight = split ? { weight: opts.weight } : {};
    e.reporter.event('result', { id: op.id, ok: true, from: plan.from, to, ...weight, ms });
    return { id: op.id, from: plan.from, to, ms };
  });
}
