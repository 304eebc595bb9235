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
    assert.equal(
      s.colour,
      marks[i]!.colour,
      `a request started ${started - marks[i]!.end} ms after the switch to ${marks[i]!.colour} returned ` +
        `was answered by ${s.colour}`,
    );
  }
  return checked;
}

/**
 * After the last command: keep the load going until it sent `floor` requests in all and `extra`
 * more than now (so enough requests are checked against the final colour), bounded by `maxMs`.
 */
export async function keepLoading(
  load: { readonly sent: number },
  opts: { floor?: number; extra?: number; maxMs?: number } = {},
): Promise<void> {
  const target = Math.max(opts.floor ?? 3000, load.sent + (opts.extra ?? 1000));
  const deadline = Date.now() + (opts.maxMs ?? 30_000);
  while (load.sent < target && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

/**
 * `deploy --auto-switch --keep-old` (green live, blue warm), then `switches` switches back and
 * forth starting with blue. `run` runs one CLI command that must succeed and returns when it
 * started and returned. Returns the marks, in order; green is live again after an even count.
 */
export async function deployThenSwitch(
  run: (args: string[]) => Promise<{ start: number; end: number }>,
  switches: number,
): Promise<Mark[]> {
  const marks: Mark[] = [{ ...(await run(['deploy', '--auto-switch', '--keep-old'])), colour: 'green' }];
  let colour = 'green';
  for (let i = 0; i < switches; i++) {
    colour = colour === 'blue' ? 'green' : 'blue';
    marks.push({ ...(await run(['switch', colour])), colour });
  }
  return marks;
}

/**
 * The zero-downtime scenario of I3 through the project's public port: a bounded keep-alive load
 * while a deploy, five switches and a second deploy happen (ending on green, blue stopped).
 * Asserts: at least 3,000 requests, none failed, both colours seen, more than 500 requests checked
 * against the command that last moved traffic, and nothing from blue after the last deploy.
 */
export async function assertNoFailureThroughDeploysAndSwitches(
  p: { port: number; setBehaviour(b: Record<string, unknown>): Promise<void> },
  run: (args: string[]) => Promise<{ start: number; end: number }>,
): Promise<LoadTotals> {
  const { startLoad } = await import('../../src/load/load.ts');
  const load = startLoad({
    origin: `http://127.0.0.1:${p.port}`,
    path: '/api/echo',
    connections: 8,
    maxRequests: 200_000,
    maxMs: 150_000,
  });
  await keepLoading(load, { floor: 300, extra: 0, maxMs: 30_000 });
  // Each command moves traffic to `colour`: every request that starts after it returned (and
  // before the next command started) must be answered by that colour.
  await p.setBehaviour({ version: 'v2', mode: 'ok' });
  const marks = await deployThenSwitch(run, 5); // ends on blue
  await p.setBehaviour({ version: 'v3', mode: 'ok' });
  marks.push({ ...(await run(['deploy', '--auto-switch'])), colour: 'green' });
  // Keep the load going after the last command: at least 1,000 requests checked against the final colour.
  await keepLoading(load);
  const totals = await load.stop();

  assert.ok(totals.sent >= 3000, `sent ${totals.sent}`);
  assert.equal(totals.failed, 0, `failed: ${JSON.stringify(totals.errors)}`);
  assert.ok((totals.byColour.blue ?? 0) > 0 && (totals.byColour.green ?? 0) > 0, JSON.stringify(totals.byColour));
  const checked = assertFollowsMarks(totals, marks);
  assert.ok(checked > 500, `only ${checked} requests started after the first switch`);
  // blue was stopped by the last deploy: nothing may have come from it afterwards.
  const last = marks.at(-1)!;
  assert.ok(totals.samples.filter((s) => totals.startedAt + s.at >= last.end).every((s) => s.colour === 'green'));
  return totals;
}
