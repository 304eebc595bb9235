/**
 * recover: converge after an interrupted operation (its journal's owner is gone). Reads where the
 * proxy really sends traffic, asks the planner (src/plan/recover.ts) what to do, does it step by
 * step, then removes the journal; the dead owner's lock is cleared when recover takes the lock.
 * Every action is idempotent, so a recover that is itself interrupted can simply run again.
 */
import path from 'node:path';
import { COLOURS, type Colour } from '../config/schema.js';
import { errorMessage, SwitchyardError } from '../errors.js';
import { describeInterruption, planRecovery, type RecoveryAction, type RecoveryPlan } from '../plan/recover.js';
import { ownerAlive, readInterrupted, readJournal, removeJournal, type JournalData } from '../state/journal.js';
import { describeLock, readLock } from '../state/lock.js';
import { activated, emptyState, readState, withColourStatus, writeState } from '../state/state.js';
import type { ProxyControl } from '../proxy/types.js';
import { healthGate, WARM_HEALTH_TIMEOUT_MS } from './colour.js';
import type { Engine } from './context.js';
import { gatherFacts } from './facts.js';
import { interruptedError } from './interrupted.js';
import { runOperation } from './operation.js';
import { openProxy } from './proxy.js';
import { keepWarm } from './reap.js';
import type { StepHandle } from './reporter.js';
import { StepRunner } from './steps.js';
import { drainAndStop, drainSummary, switchAndVerify } from './traffic.js';

export interface RecoverResult {
  /** The interrupted operation, when there was one. */
  interrupted: JournalData | undefined;
  outcome: 'nothing' | 'lock-cleared' | 'undone' | 'finished' | 'switched-back';
  active: Colour | null;
  /** One line per action taken, in order. */
  actions: string[];
}

async function healthy(e: Engine, colour: Colour, h: StepHandle): Promise<boolean> {
  // A colour that was running already: it gets as long as `switch` gives one.
  const timeoutMs = Math.min(e.loaded.config.checks.timeout, WARM_HEALTH_TIMEOUT_MS);
  try {
    const verdict = await healthGate(e, colour, h, { warm: true, timeoutMs });
    e.reporter.info(`${colour}: ${verdict}`);
    return true;
  } catch (err) {
    if (!(err instanceof SwitchyardError) || err.code !== 'HEALTH_FAILED') throw err;
    e.reporter.warn(`${colour}: ${errorMessage(err)}`);
    return false;
  }
}

/** Progress of a health round before any numbered step: the verdict is printed, the attempts are not. */
const quiet: StepHandle = { update() {}, ok() {}, fail() {}, skip() {} };

/** Facts for the planner, with health rounds run as the planner asks for them (at most one per colour). */
async function decide(e: Engine, j: JournalData): Promise<RecoveryPlan> {
  const verdicts: Partial<Record<Colour, boolean>> = {};
  for (let round = 0; round <= COLOURS.length; round++) {
    const w = await gatherFacts(e, { ownLock: true });
    const runs = await Promise.all(COLOURS.map((c) => e.runtime.current(c)));
    const runningRelease: Partial<Record<Colour, string>> = {};
    COLOURS.forEach((c, i) => {
      if (runs[i] && w.running[c]) runningRelease[c] = runs[i]!.release;
    });
    const plan = planRecovery({
      journal: j,
      state: w.state,
      currentEnv: w.currentEnv,
      running: w.running,
      started: Object.fromEntries(COLOURS.map((c, i) => [c, runs[i] !== undefined])) as Record<Colour, boolean>,
      proxyActive: w.proxyActive ?? null,
      proxyCanary: w.proxyCanary ?? null,
      runningRelease,
      healthy: verdicts,
      deploy: e.loaded.config.deploy,
    });
    if (plan.kind !== 'check-health') return plan;
    if (verdicts[plan.colour] !== undefined) break;
    e.reporter.info(`the proxy sends traffic to ${w.proxyActive ?? 'nothing'}: checking ${plan.colour}`);
    verdicts[plan.colour] = await healthy(e, plan.colour, quiet);
  }
  throw new Error('recovery planner kept asking for health rounds');
}

function title(a: RecoveryAction): string {
  switch (a.kind) {
    case 'switch':
      return `Switching traffic back to ${a.to}`;
    case 'end-split':
      return `Ending the ${a.percent}% split to ${a.colour}`;
    case 'write-state':
      return `Recording ${a.active} as live in state.json and .current-env`;
    case 'stop':
      return `Stopping ${a.colour}`;
    case 'keep-warm':
      return `Keeping ${a.colour} warm`;
  }
}

async function act(e: Engine, j: JournalData, proxy: ProxyControl, a: RecoveryAction, h: StepHandle): Promise<string> {
  switch (a.kind) {
    case 'switch': {
      const t = await switchAndVerify(e, proxy, null, a.to);
      return `${a.why}: switched in ${t.switchMs} ms, verified in ${t.verifyMs} ms`;
    }
    case 'end-split':
      await proxy.setWeight(a.colour, 0);
      return `${a.why}: every client is back on the live colour`;
    case 'write-state': {
      const base = (await readState(e.paths)) ?? emptyState(e.loaded.config.app);
      const next = activated(base, a.active, a.release, a.backup ? path.basename(a.backup) : undefined);
      if (a.lastDeploy)
        next.lastDeploy = {
          id: j.id,
          type: j.type,
          at: new Date().toISOString(),
          from: j.from,
          to: a.active,
          release: a.release,
          result: 'success',
        };
      await writeState(e.paths, next);
      return `${a.why}${a.release ? ` (release ${a.release})` : ''}`;
    }
    case 'stop': {
      const d = await drainAndStop(e, proxy, a.colour, () => h.update(`stopping ${a.colour}`));
      const st = await readState(e.paths);
      if (a.record && st) await writeState(e.paths, withColourStatus(st, a.colour, 'stopped'));
      return `${a.why}; ${drainSummary(d)}`;
    }
    case 'keep-warm':
      await keepWarm(e, a.colour, a.release, a.ms);
      return `${a.why}: for ${Math.round(a.ms / 1000)} s, then stopped by the reaper`;
  }
}

export async function recover(e: Engine): Promise<RecoverResult> {
  const j = await readJournal(e.paths);
  // A live owner is still working: its journal and lock are its own.
  if (j && (await ownerAlive(j.owner))) {
    throw new SwitchyardError(
      'LOCKED',
      `${j.type} ${j.id} is still running (pid ${j.owner.pid} on ${j.owner.host}): nothing to recover`,
      {
        hint: 'wait for it to finish',
      },
    );
  }
  const lock = await readLock(e.paths);
  const stale = lock && !lock.alive ? lock : undefined;
  if (!j && !stale) {
    e.reporter.info('Nothing to recover: no operation was interrupted');
    e.reporter.event('result', { ok: true, outcome: 'nothing' });
    return {
      interrupted: undefined,
      outcome: 'nothing',
      active: (await readState(e.paths))?.active ?? null,
      actions: [],
    };
  }
  // forceUnlock: only a dead owner's lock is ever cleared (lock.ts), and this one's owner is gone.
  return runOperation(e, 'recover', { forceUnlock: true, interrupted: 'ignore' }, async (op) => {
    const actions: string[] = [];
    if (stale) actions.push(`cleared the ${describeLock(stale)}`);
    if (!j) {
      for (const a of actions) e.reporter.info(a);
      op.note = actions.join('; ');
      e.reporter.info('✓ No operation was interrupted; the lock is free again');
      e.reporter.event('result', { ok: true, outcome: 'lock-cleared', actions });
      return {
        interrupted: undefined,
        outcome: 'lock-cleared',
        active: (await readState(e.paths))?.active ?? null,
        actions,
      };
    }
    Object.assign(op, { from: j.from, to: j.to, release: j.release });
    e.reporter.info(describeInterruption(j));
    e.reporter.event('interrupted', { journal: j });

    // A dead proxy is restarted on the colour it last served (its snapshot), as any command does.
    const p = await openProxy(e);
    if (p.started) {
      actions.push(`restarted the proxy (pid ${p.status.pid}) on ${p.status.active ?? 'nothing'}`);
      e.reporter.info(actions.at(-1)!);
    }
    const plan = await decide(e, j);
    if (plan.kind === 'stuck') {
      throw new SwitchyardError('INCONSISTENT', `cannot recover ${j.type} ${j.id}: ${plan.why}`, { hint: plan.hint });
    }
    if (plan.kind !== 'converge') throw new Error(`unexpected recovery plan ${plan.kind}`);
    const proxy = p.control;
    const verb = plan.outcome === 'finished' ? 'finishing' : plan.outcome === 'undone' ? 'undoing' : 'switching back';
    const now = await proxy.status();
    e.reporter.info(`the proxy sends traffic to ${now.active ?? 'nothing'}: ${verb} the ${j.type}`);
    // A deploy turns the live watch's counting on and off again at its end: a killed one leaves it
    // on (nginx's access log would keep growing). Nothing else reads it now, so it goes off; the
    // output says so only when it was on.
    const watching = j.type === 'deploy' && now.watching;
    const steps = new StepRunner(e.reporter, plan.actions.length + (watching ? 1 : 0) + 1);
    for (const a of plan.actions) {
      await steps.run(title(a), async (h) => {
        const what = await act(e, j, proxy, a, h);
        actions.push(`${title(a).toLowerCase()}: ${what}`);
        h.ok(what);
      });
    }
    if (watching) {
      await steps.run('Turning the live watch off', async (h) => {
        await proxy.setWatch(false);
        const what = 'the interrupted deploy left per-colour counting on';
        actions.push(`turned the live watch off: ${what}`);
        h.ok(what);
      });
    }
    for (const n of plan.notes) e.reporter.info(n);
    await steps.run('Removing the journal', async (h) => {
      await removeJournal(e.paths);
      h.ok(stale ? 'and cleared the stale lock it left' : undefined);
    });
    const outcome = plan.outcome;
    const done =
      outcome === 'finished'
        ? `finished the ${j.type}`
        : outcome === 'undone'
          ? `undid the ${j.type}`
          : `switched back to ${plan.active}`;
    e.reporter.info(
      `✓ Recovered: ${done}; ${plan.active ? `${plan.active} is live` : 'nothing is live'}` +
        `, and the proxy, the colours and state.json agree`,
    );
    op.note = `${j.type} ${j.id} interrupted: ${done}${actions.length ? ` (${actions.join('; ')})` : ''}`;
    e.reporter.event('result', { ok: true, id: op.id, outcome, active: plan.active, interrupted: j.id, actions });
    return { interrupted: j, outcome, active: plan.active, actions };
  });
}

/**
 * deploy and rollback: recover an interrupted operation first, when told to (`--recover`) or after
 * asking on a terminal. Otherwise (no terminal, or "no") they refuse with exit 4 before changing
 * anything (runOperation does that).
 */
export async function offerRecovery(e: Engine, command: 'deploy' | 'rollback', told = false): Promise<void> {
  if (!told && !e.asker.interactive) return;
  const j = await readInterrupted(e.paths);
  if (!j) return;
  e.reporter.warn(describeInterruption(j));
  if (!told && !(await e.asker.confirm(`Recover it first (switchyard recover), then ${command}?`, true)))
    throw interruptedError(j);
  await recover(e);
}
