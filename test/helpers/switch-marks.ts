/**
 * Checking a load against the commands that moved traffic: every request that started after a
 * command returned (and before the next one started) must have been answered by that command's
 * colour. Requests that start while a command runs may legitimately see either colour.
 */
import assert from 'node:assert/strict';
import type { LoadTotals } from '../../src/load/load.ts';

export interface Mark {
  /** When the command started and returned (epoch ms). */
  start: number;
  end: number;
  /** The colour it moved traffic to. */
  colour: string;
}

/** Asserts the rule above for every sample; returns how many samples it checked. */
export function assertFollowsMarks(totals: LoadTotals, marks: Mark[]): number {
  let checked = 0;
  for (const s of totals.samples) {
    const started = totals.startedAt + s.at;
    let i = marks.length - 1;
    while (i >= 0 && marks[i]!.end > started) i--;
    if (i < 0) continue;
    const next = marks[i + 1];
    if (next && started >= next.start) continue; // the next command may already have switched
    checked++;
    assert.equal(s.colour, marks[i]!.colour, `a request started ${started - marks[i]!.end} ms after the switch to ${marks[i]!.colour} returned was answered by ${s.colour}`);
  }
  return checked;
}

/**
 * After the last command: keep the load going until it sent `floor` requests in all and `extra`
 * more than now (so enough requests are checked against the final colour), bounded by `maxMs`.
 */
export async function keepLoading(load: { readonly sent: number }, opts: { floor?: number; extra?: number; maxMs?: number } = {}): Promise<void> {
  const target = Math.max(opts.floor ?? 3000, load.sent + (opts.extra ?? 1000));
  const deadline = Date.now() + (opts.maxMs ?? 30_000);
  while (load.sent < target && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

/**
 * `deploy --auto-switch --keep-old` (green live, blue warm), then `switches` switches back and
 * forth starting with blue. `run` runs one CLI command that must succeed and returns when it
 * started and returned. Returns the marks, in order; green is live again after an even count.
 */
export async function deployThenSwitch(run: (args: string[]) => Promise<{ start: number; end: number }>, switches: number): Promise<Mark[]> {
  const marks: Mark[] = [{ ...(await run(['deploy', '--auto-switch', '--keep-old'])), colour: 'green' }];
  let colour = 'green';
  for (let i = 0; i < switches; i++) {
    colour = colour === 'blue' ? 'green' : 'blue';
    marks.push({ ...(await run(['switch', colour])), colour });
  }
  return marks;
}
