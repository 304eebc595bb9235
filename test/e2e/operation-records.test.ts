/**
 * What an operation tells the outside about itself, with real processes and the built-in proxy:
 * the migrate hook gets the deploy's colour, release and project folder in both of its modes
 * (project folder, and inside a service of the target); a failed operation's history record names
 * the move it was asked for.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { budget } from '../helpers/budget.ts';
import { makeInitedProject, type Project } from '../helpers/project.ts';

let p: Project;
before(async () => {
  p = await makeInitedProject('fixture');
}, budget(3_000));
after(async () => {
  await p.cleanup();
}, budget(1_500));

const out = (r: { stdout: string; stderr: string }) => r.stdout + r.stderr;
type Env = Record<string, string | undefined>;
const history = async () =>
  (await p.file('.switchyard/history.jsonl'))!
    .trim()
    .split('\n')
    .map(
      (l) =>
        JSON.parse(l) as {
          type: string;
          from: string | null;
          to: string | null;
          result: string;
          release: string | null;
          reason?: string;
        },
    );

/**
 * Sets deploy.hooks.migrate to a node script that writes the variables it got to `file` (relative
 * to where it runs).
 */
async function hookWritingEnv(file: string, service?: string): Promise<void> {
  const yml = path.join(p.dir, 'switchyard.yml');
  const text = (await fs.readFile(yml, 'utf8')).replace(/\ndeploy:\n[\s\S]*$/, '\n');
  const script = `require('fs').writeFileSync(${JSON.stringify(file)}, JSON.stringify(process.env))`;
  const hook =
    `    migrate: { run: [node, -e, ${JSON.stringify(script)}]` +
    `${service ? `, service: ${service}` : ''}, timeout: 20s }\n`;
  await fs.writeFile(yml, `${text}deploy:\n  drainTimeout: 2s\n  verifyTimeout: 3s\n  hooks:\n${hook}`);
}

/** deploy --auto-switch --json, which must succeed; its result event (with the release it deployed). */
async function deployReportingRelease(): Promise<{ release: string }> {
  const r = await p.run(['deploy', '--auto-switch', '--json']);
  assert.equal(r.code, 0, out(r));
  const events = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { event: string; release?: string });
  const result = events.find((ev) => ev.event === 'result');
  assert.ok(result?.release, `the deploy reported its release\n${out(r)}`);
  return { release: result.release };
}

function assertDeployVariables(env: Env, colour: string, release: string): void {
  assert.equal(env.SWITCHYARD_RELEASE, release, 'SWITCHYARD_RELEASE is the release deployed');
  assert.equal(env.SWITCHYARD_COLOUR, colour);
  assert.equal(env.COLOUR, colour);
  assert.equal(env.ENVIRONMENT_NAME, colour);
  assert.equal(env.SWITCHYARD_PROJECT_DIR, p.dir);
}

test('migrate hook in the project folder gets the release, colour and project folder', budget(5_700), async () => {
  await hookWritingEnv('migrate-env.json');
  const result = await deployReportingRelease();
  const env = JSON.parse((await p.file('migrate-env.json'))!) as Env;
  assertDeployVariables(env, 'green', result.release);
  assert.equal(env.SWITCHYARD_BACKUP, undefined, 'no backup configured, so none named');
});

test('migrate hook inside a service of the target gets the same variables', budget(1_600), async () => {
  // Relative to the service's release folder; the absolute path makes it findable from the test.
  const file = path.join(p.dir, 'migrate-env-service.json');
  await hookWritingEnv(file, 'api');
  const result = await deployReportingRelease();
  const env = JSON.parse(await fs.readFile(file, 'utf8')) as Env;
  assertDeployVariables(env, 'blue', result.release);
  assert.ok(env.PORT, "and the service's own PORT");
});

test('a failed switch is recorded with the colours it was asked to move between', budget(3_200), async () => {
  // blue is live after the second deploy; green was stopped by it.
  const live = JSON.parse((await p.file('.switchyard/state.json'))!).active as string;
  const other = live === 'blue' ? 'green' : 'blue';
  const r = await p.run(['switch', other]);
  assert.equal(r.code, 2, out(r));
  assert.match(out(r), new RegExp(`${other} is not running`));
  const last = (await history()).at(-1)!;
  assert.deepEqual(
    { type: last.type, from: last.from, to: last.to, result: last.result },
    { type: 'switch', from: live, to: other, result: 'failed' },
  );
  const h = await p.run(['history']);
  assert.equal(h.code, 0, out(h));
  // The first switch of this project: the only line that can match.
  assert.match(h.stdout, new RegExp(`switch\\s+${live} -> ${other}\\s+failed`), h.stdout);
});

test(
  'a deploy that fails before it chose its target is recorded with the move it was asked for',
  budget(2_500),
  async () => {
    const live = JSON.parse((await p.file('.switchyard/state.json'))!).active as string;
    const other = live === 'blue' ? 'green' : 'blue';
    // The proxy sends traffic elsewhere than state.json says: deploy refuses while planning.
    const s = await p.run(['switch', live, '--force']);
    assert.equal(s.code, 0, out(s));
    const state = JSON.parse((await p.file('.switchyard/state.json'))!);
    await fs.writeFile(path.join(p.dir, '.switchyard', 'state.json'), JSON.stringify({ ...state, active: other }));
    try {
      const r = await p.run(['deploy', '--auto-switch']);
      assert.equal(r.code, 4, out(r));
      const last = (await history()).at(-1)!;
      assert.deepEqual(
        { type: last.type, from: last.from, to: last.to, result: last.result },
        { type: 'deploy', from: other, to: live, result: 'failed' },
      );
    } finally {
      await fs.writeFile(path.join(p.dir, '.switchyard', 'state.json'), JSON.stringify(state));
    }
  },
);
