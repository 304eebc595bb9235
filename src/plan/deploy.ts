/** The whole deploy as a list of actions (the guide's eight steps, plus canary, migration and watch). */
import { formatDuration } from '../config/duration.js';
import type { Colour } from '../config/schema.js';
import type { Action, Ask, Plan } from './actions.js';
import type { Facts } from './facts.js';
import { planDeploy } from './plan.js';
import { operationNotes } from './notes.js';

/** The options and the config, reduced to what decides the list. */
export interface DeployInput {
  skipBackup: boolean;
  /** A database backup is configured (backup.kind names one this project can run). */
  backupConfigured: boolean;
  backupKind: string;
  pull: boolean;
  ref?: string;
  migrate: boolean;
  skipTests: boolean;
  autoSwitch: boolean;
  /** The proxy has a preview route: its address is printed before asking. */
  previewable: boolean;
  /** Canary shares below 100 (empty: one switch). */
  shares: number[];
  stepWait: number;
  /** deploy.watch when deploy.rollbackOn is set (the live watch after the switch), else null. */
  watchMs: number | null;
  keepOld: boolean;
  stopOld: boolean;
  keepOldFor: number;
}

function switchQuestion(target: Colour, i: DeployInput): Ask {
  const move = i.shares.length
    ? `Shift traffic to ${target} in steps (${[...i.shares, 100].join('%, ')}%)`
    : `Switch traffic to ${target}`;
  return {
    question: `All checks passed. ${move}?`,
    byDefault: false,
    no: { abort: 'not switched: you answered no' },
    ...(i.previewable ? { preview: target } : {}),
  };
}

function stopOld(from: Colour, i: DeployInput): Action {
  const title = `Stopping ${from} environment`;
  if (i.keepOld) return { kind: 'stop-old', colour: from, title, skip: 'kept running (--keep-old)' };
  if (!i.stopOld) return { kind: 'stop-old', colour: from, title, skip: 'kept running (deploy.stopOld: false)' };
  if (i.keepOldFor > 0) return { kind: 'keep-warm', colour: from, ms: i.keepOldFor, title };
  return { kind: 'stop-old', colour: from, title };
}

export function assembleDeploy(f: Facts, i: DeployInput): Plan {
  const p = planDeploy(f);
  const { from, target } = p;
  const unbacked = i.skipBackup ? '--skip-backup' : !i.backupConfigured ? `backup.kind: ${i.backupKind}` : undefined;
  const actions: Action[] = [
    {
      kind: 'target',
      from,
      to: target,
      title: 'Determining deployment target',
      info: [`Current environment: ${from}`, `Target environment: ${target}`],
      warnings: p.notes,
    },
    {
      kind: 'backup',
      title: 'Backing up database',
      ...(i.skipBackup
        ? { skip: 'skipped (--skip-backup)' }
        : !i.backupConfigured
          ? { skip: `no database backup configured (backup.kind: ${i.backupKind})` }
          : {}),
    },
    {
      kind: 'pull',
      title: 'Pulling latest code',
      ...(i.pull ? {} : { skip: i.ref ? `deploying ref ${i.ref}` : 'not requested (--pull or deploy.pull)' }),
    },
    {
      kind: 'build-start',
      colour: target,
      replace: p.replaceRunningTarget,
      keepFailed: i.keepOld,
      ...(i.ref ? { ref: i.ref } : {}),
      title: `Building and starting ${target} environment`,
    },
    { kind: 'health', colour: target, title: `Running health checks on ${target}` },
  ];
  if (i.migrate) {
    actions.push({
      kind: 'migrate',
      colour: target,
      title: 'Running database migration',
      ...(unbacked ? { unbackedBecause: unbacked } : {}),
    });
  }
  actions.push({
    kind: 'smoke',
    colour: target,
    title: `Running smoke tests on ${target}`,
    ...(i.skipTests ? { skip: 'skipped (--skip-tests)' } : {}),
  });
  const moves: Action[] = i.shares.map((percent, n) => ({
    kind: 'shift',
    colour: target,
    from,
    percent,
    waitMs: i.stepWait,
    first: n === 0,
    title: `Shifting ${percent}% of clients to ${target}`,
  }));
  moves.push({ kind: 'switch', from, to: target, record: true, title: `Switching traffic to ${target}` });
  if (!i.autoSwitch) moves[0] = { ...moves[0]!, ask: switchQuestion(target, i) };
  actions.push(...moves);
  if (i.watchMs !== null) {
    actions.push({
      kind: 'watch',
      colour: target,
      from,
      ms: i.watchMs,
      title: `Watching ${target} for ${formatDuration(i.watchMs)}`,
    });
  }
  actions.push(stopOld(from, i));
  return { command: 'deploy', from, to: target, release: null, notes: operationNotes(f), actions };
}
