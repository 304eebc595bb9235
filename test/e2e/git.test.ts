/** deploy --pull (git pull --ff-only) and --ref (a commit deployed without touching the working tree). */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { budget } from '../helpers/budget.ts';
import { makeProject, type Project } from '../helpers/project.ts';

const gitEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: 't',
  GIT_AUTHOR_EMAIL: 't@example.com',
  GIT_COMMITTER_NAME: 't',
  GIT_COMMITTER_EMAIL: 't@example.com',
};
const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', args, { cwd, env: gitEnv, encoding: 'utf8' }).trim();

let p: Project;
let origin: string;
let other: string;
let firstCommit: string;

before(async () => {
  p = await makeProject('fixture');
  // The project is a clone of a bare "origin"; a second clone plays a teammate who pushes.
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'sy-git-'));
  origin = path.join(tmp, 'origin.git');
  other = path.join(tmp, 'other');
  git(p.dir, 'init', '-q', '-b', 'main');
  await fs.writeFile(path.join(p.dir, '.gitignore'), '.switchyard/\n.current-env\n');
  git(p.dir, 'add', '-A');
  git(p.dir, 'commit', '-qm', 'v1');
  firstCommit = git(p.dir, 'rev-parse', '--short=7', 'HEAD');
  git(tmp, 'clone', '-q', '--bare', p.dir, origin);
  git(p.dir, 'remote', 'add', 'origin', origin);
  git(p.dir, 'fetch', '-q', 'origin');
  git(p.dir, 'branch', '-q', '--set-upstream-to=origin/main', 'main');
  git(tmp, 'clone', '-q', origin, other);
  const r = await p.run(['init']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
}, budget(4_000));
after(async () => {
  await p.cleanup();
}, budget(3_000));

async function push(version: string) {
  await fs.writeFile(path.join(other, 'behaviour.json'), JSON.stringify({ version, mode: 'ok' }));
  git(other, 'commit', '-qam', version);
  git(other, 'push', '-q', 'origin', 'main');
  return git(other, 'rev-parse', '--short=7', 'HEAD');
}

test('deploy --pull fast-forwards the checkout and deploys the new commit', budget(4_500), async () => {
  const commit = await push('v2');
  const r = await p.run(['deploy', '--auto-switch', '--pull']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /\[3\/8\] Pulling latest code\.\.\. ✓/);
  assert.match(r.stdout, new RegExp(`release \\d{8}-\\d{6}-${commit}`));
  assert.equal(JSON.parse((await p.get('/api/echo')).body).version, 'v2');
});

test('a pull that cannot fast-forward stops the deploy with nothing changed', budget(1_200), async () => {
  await push('v3');
  await fs.writeFile(path.join(p.dir, 'behaviour.json'), JSON.stringify({ version: 'local', mode: 'ok' }));
  git(p.dir, 'commit', '-qam', 'diverging local commit');
  const before = await p.file('.switchyard/state.json');
  const r = await p.run(['deploy', '--auto-switch', '--pull']);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /git pull --ff-only failed; nothing was changed/);
  assert.doesNotMatch(r.stdout, /\[4\/8\]/);
  assert.equal(await p.file('.switchyard/state.json'), before);
  assert.equal(JSON.parse((await p.get('/api/echo')).body).version, 'v2');
});

test('deploy --ref deploys that commit; the working tree is untouched', budget(3_200), async () => {
  const tree = await p.file('behaviour.json');
  const r = await p.run(['deploy', '--auto-switch', '--ref', firstCommit]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(JSON.parse((await p.get('/api/echo')).body).version, 'v1');
  assert.equal(await p.file('behaviour.json'), tree);
  const bad = await p.run(['deploy', '--auto-switch', '--ref', 'no-such-ref']);
  assert.equal(bad.code, 1, bad.stdout + bad.stderr);
  assert.match(bad.stdout + bad.stderr, /no-such-ref/);
});
