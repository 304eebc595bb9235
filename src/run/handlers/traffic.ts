/** Handlers that move traffic (I3) and retire the colour it left: canary, switch, watch, drain and stop. */
import type { Colour } from '../../config/schema.js';
import { errorMessage } from '../../errors.js';
import type { Action } from '../../plan/actions.js';
import { activated, emptyState, readState, withColourStatus, writeState } from '../../state/state.js';
import { proxyOf, type Exec } from '../exec.js';
import { keepWarm } from '../reap.js';
import type { StepHandle } from '../reporter.js';
import { canaryStep, watchStep, type ShiftContext } from '../shift.js';
import { drainAndStop, drainSummary, switchAndVerify } from '../traffic.js';

type Of<K extends Action['kind']> = Extract<Action, { kind: K }>;

async function shiftContext(x: Exec, target: Colour, from: Colour): Promise<ShiftContext> {
  return { e: x.e, op: x.op, proxy: await proxyOf(x), from, target, ...(x.watch ? { watch: x.watch } : {}) };
}

export async function shift(x: Exec, a: Of<'shift'>, h: StepHandle): Promise<void> {
  await canaryStep(await shiftContext(x, a.colour, a.from), a, h);
}

export async function switchTo(x: Exec, a: Of<'switch'>, h: StepHandle): Promise<void> {
  const { e, op } = x;
  const proxy = await proxyOf(x);
  e.signal.throwIfAborted();
  if (a.record) x.before = (await readState(e.paths)) ?? emptyState(e.loaded.config.app);
  await op.commit();
  const t = await switchAndVerify(e, proxy, a.from, a.to, () => h.update(`verifying ${a.to} through the public entry`));
  if (a.record) {
    const next = activated(x.before!, a.to, op.release, x.backup?.name);
    await writeState(e.paths, { ...next, lastDeploy: op.summary() });
  }
  h.ok(`switched in ${t.switchMs} ms, verified through the proxy in ${t.verifyMs} ms`);
}

export async function watch(x: Exec, a: Of<'watch'>, h: StepHandle): Promise<void> {
  const c = await shiftContext(x, a.colour, a.from);
  if (!x.watch || !x.before) throw new Error('the watch step needs the live watch on and a switch before it');
  await watchStep({ ...c, watch: x.watch }, a.ms, x.before, h);
}

export async function stopOld(x: Exec, a: Of<'stop-old'>, h: StepHandle): Promise<void> {
  const { e } = x;
  try {
    const d = await drainAndStop(e, await proxyOf(x), a.colour, () => h.update(`stopping ${a.colour}`));
    await writeState(e.paths, withColourStatus((await readState(e.paths))!, a.colour, 'stopped'));
    h.ok(drainSummary(d));
  } catch (stopErr) {
    // Traffic already moved and was verified: the operation succeeded; say what is left to tidy.
    h.fail(errorMessage(stopErr));
    e.reporter.warn(`${a.colour} could not be stopped cleanly; stop it with \`switchyard down ${a.colour}\``);
  }
}

export async function keepWarmFor(x: Exec, a: Of<'keep-warm'>, h: StepHandle): Promise<void> {
  const { e } = x;
  await keepWarm(e, a.colour, (await readState(e.paths))!.colours[a.colour].release, a.ms);
  h.skip(`kept warm for ${Math.round(a.ms / 1000)} s (deploy.keepOldFor): a rollback now is a pure switch`);
}

export async function recordState(x: Exec, a: Of<'record-state'>, _h: StepHandle): Promise<void> {
  const { e, op } = x;
  const before = (await readState(e.paths)) ?? emptyState(e.loaded.config.app);
  op.release = before.colours[a.colour].release ?? (await e.runtime.current(a.colour))?.release ?? null;
  await writeState(e.paths, activated(before, a.colour, op.release));
}

export async function split(x: Exec, a: Of<'split'>, h: StepHandle): Promise<void> {
  const proxy = await proxyOf(x);
  const t0 = performance.now();
  await proxy.setWeight(a.colour, a.percent);
  h.ok(
    `in ${Math.round(performance.now() - t0)} ms; sticky by ${x.e.loaded.config.proxy.sticky}` +
      `; the other ${100 - a.percent}% stay on ${a.active}`,
  );
}

export async function endSplit(x: Exec, a: Of<'end-split'>, h: StepHandle): Promise<void> {
  const proxy = await proxyOf(x);
  const had = (await proxy.status()).canary;
  await proxy.setWeight(a.colour, 0);
  h.ok(had ? `${a.colour} had ${had.percent}%` : 'there was no split');
}
