/** Consistency of the facts: every disagreement `status` must flag (exit 4), with the exact fix. */
import { COLOURS } from '../config/schema.js';
import type { Facts, Problem } from './facts.js';
import { describeInterruption } from './recover.js';

export function assess(f: Facts): Problem[] {
  const problems: Problem[] = [];
  const s = f.state;
  // An interrupted operation explains (and recover repairs) proxy, state and colour disagreements:
  // flag it alone rather than suggesting fixes that would act on top of it.
  const settled = !f.interrupted;
  if (f.interrupted) {
    problems.push({
      what: describeInterruption(f.interrupted),
      fix: 'run `switchyard recover`: it finishes or undoes that operation and clears the lock it left',
    });
  }
  if (!s) {
    if (!settled) return problems;
    const live = COLOURS.filter((c) => f.running[c]);
    if (live.length > 0 || f.proxyActive) {
      problems.push({
        what:
          `state.json is missing but ` +
          `${live.length ? live.join(' and ') + ' is running' : 'the proxy serves ' + f.proxyActive}`,
        fix: f.proxyActive
          ? `run \`switchyard switch ${f.proxyActive} --force\` to record the colour the proxy serves`
          : 'run `switchyard down`, then `switchyard init`',
      });
    }
    return problems;
  }
  if (settled && f.proxyActive !== undefined && f.proxyActive !== s.active) {
    problems.push({
      what:
        `the proxy sends traffic to ${f.proxyActive ?? 'nothing'}` +
        ` but state.json says ${s.active ?? 'nothing'} is active`,
      fix: s.active ? `run \`switchyard switch ${s.active} --force\` to make the proxy agree` : 'run `switchyard init`',
    });
  }
  if (settled && s.active && f.currentEnv !== s.active) {
    problems.push({
      what:
        `.current-env says ${f.currentEnv === undefined ? '(missing)' : JSON.stringify(f.currentEnv)}` +
        ` but ${s.active} is active`,
      fix: `run \`switchyard switch ${s.active} --force\` (it rewrites .current-env)`,
    });
  }
  if (s.active && !f.running[s.active]) {
    problems.push({
      what: `${s.active} is the active colour but none of its services is running`,
      fix: s.colours[s.active === 'blue' ? 'green' : 'blue'].release
        ? 'run `switchyard rollback --force` to go back to the other colour, or `switchyard deploy` to start a new one'
        : 'run `switchyard deploy` to start a new release',
    });
  }
  const gone = s.active ? (f.missing?.[s.active] ?? []) : [];
  if (s.active && f.running[s.active] && gone.length > 0) {
    problems.push({
      what:
        `${s.active} is active but its ${gone.join(', ')} ${gone.length === 1 ? 'is' : 'are'}` +
        ` not running (requests to ${gone.length === 1 ? 'it' : 'them'} fail)`,
      fix: s.colours[s.active === 'blue' ? 'green' : 'blue'].release
        ? 'run `switchyard rollback --force`, or `switchyard deploy` to replace the colour'
        : 'run `switchyard deploy` to replace the colour',
    });
  }
  const split = f.proxyCanary;
  if (settled && split && !f.running[split.colour]) {
    problems.push({
      what:
        `the proxy sends ${split.percent}% of clients to ${split.colour}` +
        `, which is not running (their requests fail)`,
      fix:
        `run \`switchyard switch ${split.colour} --weight 0\`` +
        ` to put every client back on ${f.proxyActive ?? 'the live colour'}`,
    });
  }
  if (settled && !f.lockHeld && s.active && !split && COLOURS.every((c) => f.running[c])) {
    const idle = s.active === 'blue' ? 'green' : 'blue';
    if (s.colours[idle].status !== 'standby') {
      problems.push({
        what:
          `both colours are running; only ${s.active} serves traffic` +
          ` (${idle} was left by an interrupted command or by a failed deploy with --keep-old)`,
        fix: `run \`switchyard deploy\` to replace ${idle}, or \`switchyard down ${idle}\` to stop it`,
      });
    }
  }
  return problems;
}
