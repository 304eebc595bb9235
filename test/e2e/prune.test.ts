/**
 * Old releases are pruned by real deploys (deploy.keepReleases): the newest N complete releases stay,
 * and so do the live one and the one a rollback would go back to, however old; the rest go.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { budget } from '../helpers/budget.ts';
import { makeProject, type Project } from '../helpers/project.ts';

let p: Project;
before(async () => {
  p = await makeProject('fixture');
  const yml = path.join(p.dir, 'switchyard.yml');
  const text = await fs.readFile(yml, 'utf8');
  assert.match(text, /\ndeploy:\n/);
  await fs.writeFile(yml, text.replace('\ndeploy:\n', '\ndeploy:\n  keepReleases: 2\n'));
}, budget(1_000));
after(async () => {
  await p.cleanup();
}, budget(3_000));

async function releases(): Promise<string[]> {
  return (await fs.readdir(path.join(p.dir, '.switchyard', 'releases'))).sort();
}

async function state() {
  return JSON.parse((await p.file('.switchyard/state.json'))!) as {
    active: string;
    colours: Record<'blue' | 'green', { release: string | null; status: string }>;
  };
}

async function live(colour: string, version: string) {
  const res = await p.get('/api/echo');
  assert.equal(res.status, 200);
  assert.equal(res.colour, colour);
  assert.equal(JSON.parse(res.body).version, version);
}

async function deploy(version: string, expectColour: 'blue' | 'green'): Promise<string> {
  await p.setBehaviour({ version, mode: 'ok' });
  const r = await p.run(['deploy', '--auto-switch']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const s = await state();
  assert.equal(s.active, expectColour);
  await live(expectColour, version);
  return s.colours[expectColour].release!;
}

test(
  'deploy.keepReleases: 2 keeps the newest two plus the live release and the rollback target; ' +
    'rollback --force still works',
  budget(6_700),
  async () => {
    await p.setBehaviour({ version: 'v1', mode: 'ok' });
    const init = await p.run(['init']);
    assert.equal(init.code, 0, init.stdout + init.stderr);
    const r1 = (await state()).colours.blue.release!;
    assert.deepEqual(await releases(), [r1]);

    const r2 = await deploy('v2', 'green');
    assert.deepEqual(await releases(), [r1, r2].sort(), 'two releases: nothing to prune yet');

    const r3 = await deploy('v3', 'blue');
    assert.deepEqual(
      await releases(),
      [r2, r3].sort(),
      `r1 (${r1}) pruned: neither live, nor the rollback target, nor among the newest 2`,
    );

    const r4 = await deploy('v4', 'green');
    assert.deepEqual(await releases(), [r3, r4].sort(), `r2 (${r2}) pruned`);
    assert.equal(new Set([r1, r2, r3, r4]).size, 4, 'every deploy made a new release');

    // Roll back to blue (r3): green keeps r4. The next deploy replaces green with r5, so blue's r3
    // is the rollback target while being older than the newest two (r5, r4): it must survive.
    const rb = await p.run(['rollback', '--force']);
    assert.equal(rb.code, 0, rb.stdout + rb.stderr);
    await live('blue', 'v3');
    assert.deepEqual(await releases(), [r3, r4].sort());

    const r5 = await deploy('v5', 'green');
    const s = await state();
    assert.deepEqual([s.colours.green.release, s.colours.blue.release], [r5, r3]);
    assert.deepEqual(await releases(), [r3, r4, r5].sort(), 'live r5, rollback target r3, and r4 (newest two: r5, r4)');

    // The oldest survivor is exactly what a rollback restarts.
    const rb2 = await p.run(['rollback', '--force']);
    assert.equal(rb2.code, 0, rb2.stdout + rb2.stderr);
    assert.match(rb2.stdout, new RegExp(`Rolling back to: blue \\(release ${r3}\\)`));
    await live('blue', 'v3');
    const rolled = await state();
    assert.equal(rolled.active, 'blue');
    assert.equal(rolled.colours.blue.release, r3);
    assert.equal((await p.file('.current-env'))?.trim(), 'blue');

    // The next deploy goes to green (replacing r5): r6 live, blue's r3 the rollback target, r5 among
    // the newest two; r4 goes.
    const r6 = await deploy('v6', 'green');
    assert.deepEqual(
      await releases(),
      [r5, r6, r3].sort(),
      `live r6, rollback target r3, newest two r6 and r5; r4 (${r4}) pruned`,
    );
  },
);
