/**
 * The guide's "confused state" cases with a real nginx (host mode) and the process runtime, through
 * the built CLI: `status` must exit 4, say what disagrees (nginx's routing read from its flag file,
 * not from state.json), and print the command that fixes it; running exactly that command must
 * bring `status` back to 0 and traffic where state.json says.
 *
 * One project, in order: (a) the flag file flipped by hand, (b) both colours running when only one
 * should, (c) a service process of the live colour missing, then (a) the other way round.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { budget } from '../helpers/budget.ts';
import { makeInitedProject, type Project, type RunResult } from '../helpers/project.ts';
import { pidAlive } from '../../src/util/pid.ts';

let p: Project;
before(async () => {
  // restart: never: (c) needs a killed service to stay down (the supervisor's restarts are e2e/supervise's).
  p = await makeInitedProject('fixture', { proxy: 'nginx', restart: 'never' });
}, budget(4_000));
after(async () => {
  await p?.cleanup();
}, budget(3_000));

const FLAG = '.switchyard/nginx/green.active';
const out = (r: RunResult) => `exit ${r.code}\n${r.stdout}${r.stderr}`;

interface Report {
  active: string | null;
  proxy: { running: boolean; active: string | null };
  colours: Record<
    'blue' | 'green',
    {
      state: string;
      release: string | null;
      running: string | null;
      services: { service: string; running: boolean; pid?: number }[];
    }
  >;
  problems: { what: string; fix: string }[];
}

async function statusJson(): Promise<{ code: number | null; report: Report }> {
  const r = await p.run(['status', '--json']);
  const line = r.stdout
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.includes('"status"'));
  assert.ok(line, `status --json printed no status event: ${out(r)}`);
  return { code: r.code, report: JSON.parse(line) as Report };
}

/** The commands a fix names, in order (each between backticks). */
const commandsIn = (fix: string) => [...fix.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);

/** Text `status`: exit 4, the problem and its fix printed; returns the fix's commands. */
async function expectFlagged(what: RegExp, fix: string): Promise<string[]> {
  const r = await p.run(['status']);
  assert.equal(r.code, 4, out(r));
  assert.match(r.stdout, /inconsistent state:/, out(r));
  assert.match(r.stdout, what, out(r));
  assert.ok(r.stdout.includes(`fix: ${fix}`), `expected "fix: ${fix}" in:\n${out(r)}`);
  return commandsIn(fix);
}

/** Runs a printed `switchyard ...` command as it is printed. */
async function runPrinted(command: string): Promise<RunResult> {
  const [bin, ...args] = command.split(' ');
  assert.equal(bin, 'switchyard', `a fix names a switchyard command: ${command}`);
  const r = await p.run(args);
  assert.equal(r.code, 0, `${command}: ${out(r)}`);
  return r;
}

async function expectClean(): Promise<Report> {
  const { code, report } = await statusJson();
  assert.deepEqual(report.problems, []);
  assert.equal(code, 0);
  const text = await p.run(['status']);
  assert.equal(text.code, 0, out(text));
  assert.doesNotMatch(text.stdout, /inconsistent state|fix:/);
  return report;
}

async function expectServed(colour: string, version: string) {
  for (const pathname of ['/api/health', '/']) {
    const r = await p.get(pathname);
    assert.equal(r.status, 200, `${pathname}: ${r.body}`);
    assert.equal(r.colour, colour, `${pathname}: X-Switchyard-Env`);
  }
  const body = JSON.parse((await p.get('/api/health')).body);
  assert.equal(body.colour, colour, 'the backend that answered is that colour');
  assert.equal(body.version, version);
}

const pidsOf = (report: Report, colour: 'blue' | 'green') =>
  report.colours[colour].services.filter((s) => s.running).map((s) => s.pid!);

async function waitGone(pid: number, ms = 5_000) {
  const t0 = Date.now();
  while (pidAlive(pid) && Date.now() - t0 < ms) await new Promise((r) => setTimeout(r, 25));
  assert.equal(pidAlive(pid), false, `pid ${pid} still alive after ${ms} ms`);
}

describe('confused state with nginx: status flags it with the fix, and the fix works', () => {
  it('(a) flag file flipped by hand: nginx routes to blue while state.json says green', budget(4_900), async () => {
    await p.setBehaviour({ version: 'v2' });
    // --keep-old: blue stays up (standby), so the hand-made flip really sends users to a live blue.
    const d = await p.run(['deploy', '--auto-switch', '--keep-old']);
    assert.equal(d.code, 0, out(d));
    await expectServed('green', 'v2');
    const ok = await expectClean();
    assert.equal(ok.active, 'green');
    assert.equal(ok.colours.blue.state, 'standby', 'kept on purpose: both running is not flagged');
    assert.ok(pidsOf(ok, 'blue').length === 2 && pidsOf(ok, 'green').length === 2);

    const stateBefore = await p.file('.switchyard/state.json');
    await fs.rm(path.join(p.dir, FLAG)); // by hand, as someone "fixing" nginx would
    await expectServed('blue', 'v1');
    assert.equal(await p.file('.switchyard/state.json'), stateBefore, 'state.json still says green');
    assert.equal(
      JSON.parse((await p.file('.switchyard/nginx/state.json'))!).active,
      'green',
      "the driver's own record still says green: only the flag file tells",
    );

    const { code, report } = await statusJson();
    assert.equal(code, 4);
    assert.equal(report.active, 'green');
    assert.equal(report.proxy.running, true);
    assert.equal(report.proxy.active, 'blue', "nginx's live routing, read from its flag file");
    assert.deepEqual(report.problems, [
      {
        what: 'the proxy sends traffic to blue but state.json says green is active',
        fix: 'run `switchyard switch green --force` to make the proxy agree',
      },
    ]);
    const text = await p.run(['status']);
    assert.match(text.stdout, /proxy: +running, pid \d+, sends traffic to blue on 127\.0\.0\.1:\d+/, out(text));
    const [fix, ...more] = await expectFlagged(
      /the proxy sends traffic to blue but state\.json says green is active/,
      'run `switchyard switch green --force` to make the proxy agree',
    );
    assert.deepEqual(more, []);
    assert.equal(fix, 'switchyard switch green --force');

    await runPrinted(fix!);
    const fixed = await expectClean();
    assert.equal(fixed.proxy.active, 'green');
    assert.equal(fixed.active, 'green');
    assert.ok((await p.file(FLAG)) !== undefined, 'the flag file is back');
    await expectServed('green', 'v2');
    assert.equal((await p.file('.current-env'))?.trim(), 'green');
  });

  it('(b) both colours running when only one should: a failed deploy kept with --keep-old', budget(4_800), async () => {
    // Back to one colour (blue's standby is intended; `down blue` ends it).
    const down = await p.run(['down', 'blue']);
    assert.equal(down.code, 0, out(down));
    const one = await expectClean();
    assert.equal(one.colours.blue.state, 'stopped');
    assert.deepEqual(pidsOf(one, 'blue'), []);

    // A release that fails its smoke step; --keep-old leaves the failed target up for debugging.
    await p.setBehaviour({ version: 'v3', mode: 'smokeFail' });
    const d = await p.run(['deploy', '--auto-switch', '--keep-old']);
    assert.equal(d.code, 1, out(d));
    assert.match(d.stdout + d.stderr, /blue kept running for debugging/, out(d));
    await p.setBehaviour({ version: 'v1' });
    await expectServed('green', 'v2');

    const { code, report } = await statusJson();
    assert.equal(code, 4);
    assert.equal(report.colours.blue.state, 'stopped', 'state.json: blue is not supposed to run');
    const bluePids = pidsOf(report, 'blue');
    assert.equal(bluePids.length, 2, 'but both of its services run');
    // ... the failed release, which state.json never recorded: status says which one runs.
    assert.ok(
      report.colours.blue.running && report.colours.blue.running !== report.colours.blue.release,
      JSON.stringify(report.colours.blue),
    );
    const text = await p.run(['status']);
    assert.ok(
      text.stdout.includes(`running release ${report.colours.blue.running}, which state.json does not record`),
      out(text),
    );
    assert.deepEqual(
      report.problems.map((x) => x.fix),
      ['run `switchyard deploy` to replace blue, or `switchyard down blue` to stop it'],
    );
    const commands = await expectFlagged(
      /both colours are running; only green serves traffic/,
      'run `switchyard deploy` to replace blue, or `switchyard down blue` to stop it',
    );
    assert.deepEqual(commands, ['switchyard deploy', 'switchyard down blue']);

    await runPrinted(commands[1]!);
    const fixed = await expectClean();
    assert.deepEqual(pidsOf(fixed, 'blue'), []);
    for (const pid of bluePids) await waitGone(pid);
    await expectServed('green', 'v2');
  });

  it('(c) a service process of the live colour missing: the live api killed', budget(4_700), async () => {
    const { report } = await statusJson();
    const run = JSON.parse((await p.file('.switchyard/run/green.json'))!) as {
      services: Record<string, { pid: number }>;
    };
    const api = run.services.api!.pid;
    assert.ok(pidsOf(report, 'green').includes(api));
    process.kill(api, 'SIGKILL');
    await waitGone(api);
    assert.equal((await p.get('/api/health')).status, 502, 'nginx has no api to send to');

    const flagged = await statusJson();
    assert.equal(flagged.code, 4);
    assert.equal(flagged.report.colours.green.services.find((s) => s.service === 'api')?.running, false);
    const fixText = 'run `switchyard rollback --force`, or `switchyard deploy` to replace the colour';
    assert.deepEqual(flagged.report.problems, [
      { what: 'green is active but its api is not running (requests to it fail)', fix: fixText },
    ]);
    const commands = await expectFlagged(/green is active but its api is not running \(requests to it fail\)/, fixText);
    assert.deepEqual(commands, ['switchyard rollback --force', 'switchyard deploy']);

    await runPrinted(commands[0]!);
    const fixed = await expectClean();
    assert.equal(fixed.active, 'blue');
    assert.equal(fixed.proxy.active, 'blue');
    assert.deepEqual(pidsOf(fixed, 'green'), []);
    await expectServed('blue', 'v1');
    assert.equal((await p.file('.current-env'))?.trim(), 'blue');
    assert.equal(await p.file(FLAG), undefined);
  });

  it(
    '(a, the other way) flag file created by hand while blue is live: nginx sends users to a stopped green',
    budget(1_500),
    async () => {
      await fs.writeFile(path.join(p.dir, FLAG), 'green\n');
      const r = await p.get('/api/health');
      assert.equal(r.status, 502, 'green has no process behind nginx');
      assert.equal(r.colour, 'green', 'nginx picked green from the flag file');

      const { code, report } = await statusJson();
      assert.equal(code, 4);
      assert.equal(report.active, 'blue');
      assert.equal(report.proxy.active, 'green');
      const fixText = 'run `switchyard switch blue --force` to make the proxy agree';
      assert.deepEqual(report.problems, [
        { what: 'the proxy sends traffic to green but state.json says blue is active', fix: fixText },
      ]);
      const commands = await expectFlagged(
        /the proxy sends traffic to green but state\.json says blue is active/,
        fixText,
      );
      assert.deepEqual(commands, ['switchyard switch blue --force']);

      await runPrinted(commands[0]!);
      const fixed = await expectClean();
      assert.equal(fixed.proxy.active, 'blue');
      assert.equal(await p.file(FLAG), undefined, 'the flag file is gone again');
      await expectServed('blue', 'v1');
    },
  );
});
