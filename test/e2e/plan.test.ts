/**
 * `--plan` (issue 11): for init, deploy (with canary steps), rollback, switch and down, the steps
 * `--plan --json` prints are the steps the real run then reports (index, total, title, and the
 * planned skips), and printing a plan changes nothing: no proxy started, no state, history or
 * journal written, no process started. Real processes, the real built-in proxy.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { budget } from '../helpers/budget.ts';
import { makeProject, type Project } from '../helpers/project.ts';

let p: Project;
before(async () => {
  p = await makeProject('fixture');
}, budget(2_000));
after(async () => {
  await p?.cleanup();
}, budget(3_000));

interface Step {
  index: number;
  total: number;
  title: string;
  skip?: string;
  status?: string;
}

const events = (stdout: string) =>
  stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown> & { event: string });

async function planOf(args: string[]): Promise<Step[]> {
  const r = await p.run([...args, '--plan', '--json']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const plans = events(r.stdout).filter((e) => e.event === 'plan');
  assert.equal(plans.length, 1, r.stdout);
  return plans[0]!.steps as Step[];
}

/** Each step's final event (ok/skip/fail) from a real run. */
async function runOf(args: string[]): Promise<Step[]> {
  const r = await p.run([...args, '--json']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  return events(r.stdout).filter((e) => e.event === 'step' && e.status !== 'start') as unknown as Step[];
}

/** Plans, checks the plan changed nothing, runs, and compares the two lists. */
async function planThenRun(args: string[]): Promise<Step[]> {
  const files = ['.switchyard/state.json', '.switchyard/history.jsonl', '.switchyard/journal.json', '.current-env'];
  const beforeFiles = await Promise.all(files.map((f) => p.file(f)));
  const planned = await planOf(args);
  assert.deepEqual(await Promise.all(files.map((f) => p.file(f))), beforeFiles, 'a plan writes nothing');
  const ran = await runOf(args);
  assert.deepEqual(
    ran.map((s) => [s.index, s.total, s.title]),
    planned.map((s) => [s.index, s.total, s.title]),
    `${args.join(' ')}: the run reports the planned steps`,
  );
  for (const s of planned.filter((x) => x.skip !== undefined)) {
    const r = ran[s.index - 1]!;
    assert.deepEqual([r.status, (r as { detail?: string }).detail], ['skip', s.skip], `${s.title}: skipped as planned`);
  }
  return planned;
}

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

test(
  'init, deploy, a canary deploy, rollback, switch and down: each run reports the steps its --plan printed',
  budget(20_000),
  async () => {
    const init = await planOf(['init', '--skip-tests']);
    assert.equal(await listening(p.port), false, 'init --plan starts no proxy');
    assert.deepEqual(
      init.map((s) => s.title),
      [
        'Starting shared services',
        'Starting proxy',
        'Building and starting blue environment',
        'Running health checks on blue',
        'Running smoke tests on blue',
        'Activating blue',
      ],
    );
    await planThenRun(['init', '--skip-tests']);
    assert.equal((await p.get('/api/echo')).colour, 'blue');

    const deploy = await planThenRun(['deploy', '--auto-switch']);
    assert.equal(deploy.length, 8);
    assert.equal((await p.get('/api/echo')).colour, 'green');

    const canary = await planThenRun(['deploy', '--auto-switch', '--canary', '50,100', '--step-wait', '1s']);
    assert.deepEqual(
      canary.slice(6, 8).map((s) => s.title),
      ['Shifting 50% of clients to blue', 'Switching traffic to blue'],
    );
    assert.equal((await p.get('/api/echo')).colour, 'blue');

    await planThenRun(['rollback', '--force']);
    assert.equal((await p.get('/api/echo')).colour, 'green');

    await planThenRun(['switch', 'green']);
    await planThenRun(['down']);
    assert.equal(await listening(p.port), false, 'down stopped the proxy');
  },
);

test(
  '--plan in text: numbered steps, the question a run would ask, and a refusal exits as the command would',
  budget(10_000),
  async () => {
    const i = await p.run(['init', '--skip-tests']);
    assert.equal(i.code, 0, i.stdout + i.stderr);
    const r = await p.run(['deploy', '--plan']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^Plan for deploy: blue -> green; nothing was changed$/m);
    assert.match(r.stdout, /^ {2}\[1\/8\] Determining deployment target$/m);
    assert.match(r.stdout, /^ {6}asks first: All checks passed\. Switch traffic to green\?\n {2}\[7\/8\] Switching/m);
    // down stopped green and init started blue only: a switch to green is refused, plan or not.
    const bad = await p.run(['switch', 'green', '--plan']);
    assert.equal(bad.code, 2, 'the same usage error the switch gives');
    assert.match(bad.stderr, /green is not running, so traffic cannot move to it/);
  },
);
