/**
 * Recovery planner: (journal of an interrupted operation, facts) -> what `switchyard recover`
 * does so that the proxy, the running colours, state.json and .current-env agree again. Pure: no
 * I/O, no clock. Where it needs to know whether a colour is healthy, it asks for a health round
 * first (`check-health`) and is called again with the verdict.
 *
 * The rule: traffic is where the proxy sends it. An operation that never committed (its journal
 * says the switch step did not start) never moved traffic, so it is undone, and state.json is
 * left alone (I2). One that committed and left traffic on its target is finished when the target
 * is healthy, and switched back to the colour it came from when not.
 */
import type { Colour } from '../config/schema.js';
import type { JournalData } from '../state/journal.js';
import type { State } from '../state/state.js';
import type { Canary } from '../proxy/types.js';

export interface RecoverFacts {
  journal: JournalData;
  state: State | undefined;
  currentEnv: string | undefined;
  running: Record<Colour, boolean>;
  /**
   * Colours with a run record (processes or containers started), whether or not they run at this
   * moment: a started colour whose processes are down is being started again by the supervisor or
   * Docker, so stopping it is still needed. Absent: the same as `running`.
   */
  started?: Record<Colour, boolean>;
  /** Where the proxy sends traffic (it was started first if it was down). */
  proxyActive: Colour | null;
  /** A weighted split the proxy applies, if any. */
  proxyCanary?: Canary | null;
  /** The release each running colour runs (run records), for a switch's state. */
  runningRelease: Partial<Record<Colour, string>>;
  /** Health-round verdicts gathered so far. */
  healthy: Partial<Record<Colour, boolean>>;
  deploy: { stopOld: boolean; keepOldFor: number };
}

export type RecoveryAction =
  /** Move the proxy (and verify through the public entry). */
  | { kind: 'switch'; to: Colour; why: string }
  /** End a weighted split: every client back on the active colour. */
  | { kind: 'end-split'; colour: Colour; percent: number; why: string }
  /** Write state.json and .current-env as the switch step would have. */
  | {
      kind: 'write-state';
      active: Colour;
      release: string | null;
      backup: string | null;
      lastDeploy: boolean;
      why: string;
    }
  /** Drain, then stop; `record` marks it stopped in state.json (only when state.json names it). */
  | { kind: 'stop'; colour: Colour; record: boolean; why: string }
  /** deploy.keepOldFor: leave it warm, with the reaper to stop it later. */
  | { kind: 'keep-warm'; colour: Colour; release: string | null; ms: number; why: string };

export type RecoveryPlan =
  | { kind: 'check-health'; colour: Colour }
  | {
      kind: 'converge';
      /** undone: as if it never ran; finished: as if it completed; switched-back: its switch reverted. */
      outcome: 'undone' | 'finished' | 'switched-back';
      /** The colour serving when done (null: nothing, e.g. an init that never activated). */
      active: Colour | null;
      actions: RecoveryAction[];
      /** What is deliberately left as it is, for the output. */
      notes: string[];
    }
  | { kind: 'stuck'; why: string; hint: string };

function stepLabel(s: JournalData['steps'][number]): string {
  return `[${s.index}] ${s.title}`;
}

/** One line naming the interrupted operation and how far it got. */
export function describeInterruption(j: JournalData): string {
  const move = j.to ? ` (${j.from ?? '-'} -> ${j.to}${j.release ? `, release ${j.release}` : ''})` : '';
  const head = j.failed
    ? `${j.type} ${j.id}${move} failed after traffic may have moved (${j.failed})`
    : `${j.type} ${j.id}${move} was interrupted: its process (pid ${j.owner.pid}) is gone`;
  const ran = j.steps.filter((s) => s.status !== 'skipped');
  const started = [...ran].reverse().find((s) => s.status === 'started' || s.status === 'failed');
  const done = [...ran].reverse().find((s) => s.status === 'done');
  const where = [
    started
      ? `last step started: ${stepLabel(started)}${started.status === 'failed' ? ' (failed)' : ' (not finished)'}`
      : undefined,
    done ? `last step done: ${stepLabel(done)}` : ran.length === 0 ? 'no step had started' : undefined,
  ].filter(Boolean);
  return `${head}${where.length ? `; ${where.join('; ')}` : ''}`;
}

/** Running, or started and kept restarting (a crash-looping target must be stopped all the same). */
const up = (f: RecoverFacts, c: Colour): boolean => f.running[c] || f.started?.[c] === true;

/** Whether the operation, had it completed, would have stopped the colour it moved traffic away from. */
function stopsOld(f: RecoverFacts): { stop: boolean; warmMs?: number; why: string } {
  const j = f.journal;
  if (j.type === 'deploy') {
    if (j.flags.includes('keepOld')) return { stop: false, why: 'kept running (--keep-old)' };
    if (!f.deploy.stopOld) return { stop: false, why: 'kept running (deploy.stopOld: false)' };
    if (f.deploy.keepOldFor > 0)
      return { stop: false, warmMs: f.deploy.keepOldFor, why: 'kept warm (deploy.keepOldFor)' };
    return { stop: true, why: 'as the deploy would have after the switch' };
  }
  if (j.type === 'rollback') {
    return j.flags.includes('force')
      ? { stop: true, why: 'as `rollback --force` would have' }
      : { stop: false, why: 'left running (rollback asks before stopping it)' };
  }
  return { stop: false, why: `left as it is (${j.type} never stops a colour)` };
}

function finish(f: RecoverFacts, to: Colour): RecoveryPlan {
  const j = f.journal;
  const s = f.state;
  const actions: RecoveryAction[] = [];
  const notes: string[] = [];
  const release = j.release ?? s?.colours[to].release ?? f.runningRelease[to] ?? null;
  const recorded = s?.active === to && f.currentEnv === to && s.colours[to].release === release;
  if (!recorded) {
    actions.push({
      kind: 'write-state',
      active: to,
      release,
      backup: j.backup,
      lastDeploy: j.type !== 'switch',
      why: `traffic is on ${to} and it is healthy`,
    });
  }
  const from = j.from;
  if (from && from !== to) {
    // After activation state.json calls `from` standby unless it was already recorded as stopped.
    const fromStatus = recorded || s?.active !== from ? (s?.colours[from].status ?? 'stopped') : 'standby';
    const policy = stopsOld(f);
    if (policy.stop && (up(f, from) || fromStatus !== 'stopped')) {
      actions.push({ kind: 'stop', colour: from, record: true, why: policy.why });
    } else if (policy.warmMs && f.running[from]) {
      actions.push({
        kind: 'keep-warm',
        colour: from,
        release: s?.colours[from].release ?? f.runningRelease[from] ?? null,
        ms: policy.warmMs,
        why: policy.why,
      });
    } else if (f.running[from]) notes.push(`${from} ${policy.why}`);
  }
  return { kind: 'converge', outcome: 'finished', active: to, actions, notes };
}

function undo(f: RecoverFacts, outcome: 'undone' | 'switched-back', back?: Colour): RecoveryPlan {
  const j = f.journal;
  const to = j.to!;
  const s = f.state;
  const actions: RecoveryAction[] = [];
  const notes: string[] = [];
  const serving = back ?? f.proxyActive;
  let activeAfter = s?.active ?? null;
  let rewritten = false;
  // A canary step was interrupted: its clients go back first (a full switch back ends the split too).
  if (!back && f.proxyCanary && f.proxyCanary.colour === to) {
    actions.push({
      kind: 'end-split',
      colour: to,
      percent: f.proxyCanary.percent,
      why: `${f.proxyCanary.percent}% of clients were on ${to}, which never took all traffic`,
    });
  }
  if (back) {
    actions.push({ kind: 'switch', to: back, why: `${to} fails its health checks and ${back} passes them` });
    if (s?.active !== back || f.currentEnv !== back) {
      rewritten = s?.active === to;
      activeAfter = back;
      actions.push({
        kind: 'write-state',
        active: back,
        release: s?.colours[back].release ?? f.runningRelease[back] ?? null,
        backup: null,
        lastDeploy: false,
        why: `${back} serves again`,
      });
    }
  }
  // Never stop what serves, nor what state.json calls active: only what this operation started.
  if (j.startsTarget && up(f, to) && to !== serving && to !== activeAfter) {
    // state.json is left as it was (I2), unless this recovery just rewrote it away from `to`.
    actions.push({
      kind: 'stop',
      colour: to,
      record: rewritten,
      why: outcome === 'undone' ? `${to} never received traffic` : `${to} is not fit for traffic`,
    });
  } else if (f.running[to] && to !== serving && !j.startsTarget) {
    notes.push(`${to} was running before the ${j.type}: left running`);
  }
  if (!back && s?.active && f.proxyActive !== s.active) {
    notes.push(
      `the proxy sends traffic to ${f.proxyActive ?? 'nothing'} but state.json says ${s.active}` +
        `: not caused by this ${j.type}, see \`switchyard status\``,
    );
  }
  return { kind: 'converge', outcome, active: serving ?? null, actions, notes };
}

export function planRecovery(f: RecoverFacts): RecoveryPlan {
  const j = f.journal;
  const to = j.to;
  // Interrupted before it chose a target: it had changed nothing.
  if (!to) return { kind: 'converge', outcome: 'undone', active: f.state?.active ?? null, actions: [], notes: [] };
  if (!j.committed || f.proxyActive !== to) return undo(f, 'undone');

  // Traffic is on the target: keep it there if the target can serve.
  const healthy = (c: Colour): boolean | 'ask' => (!f.running[c] ? false : (f.healthy[c] ?? 'ask'));
  const target = healthy(to);
  if (target === 'ask') return { kind: 'check-health', colour: to };
  if (target) return finish(f, to);
  const from = j.from;
  if (from && from !== to) {
    const back = healthy(from);
    if (back === 'ask') return { kind: 'check-health', colour: from };
    if (back) return undo(f, 'switched-back', from);
  }
  return {
    kind: 'stuck',
    why:
      `traffic is on ${to}, which fails its health checks, and ` +
      (from && from !== to
        ? `${from} cannot take it back (${f.running[from] ? 'it fails its health checks too' : 'it is not running'})`
        : 'there is no other colour to go back to'),
    hint:
      `see \`switchyard logs ${to}\`` +
      `; fix it and run \`switchyard recover\` again` +
      `, or start over with \`switchyard down\` and \`switchyard init\``,
  };
}
