/** One deploy at a time (I5): two concurrent deploys, one runs, the other exits 3 and changes nothing. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { budget } from '../helpers/budget.ts';
import { useProject } from '../helpers/project.ts';

const project = useProject({ before, after }, 'fixture', { init: true });

test('two concurrent deploys: one runs, the other exits 3 naming the owner', budget(4_100), async () => {
  const p = project();
  await p.setBehaviour({ version: 'v2', mode: 'ok' });
  const [a, b] = await Promise.all([p.run(['deploy', '--auto-switch']), p.run(['deploy', '--auto-switch'])]);
  const codes = [a.code, b.code].sort();
  assert.deepEqual(codes, [0, 3], `${a.stdout}${a.stderr}\n---\n${b.stdout}${b.stderr}`);
  const loser = a.code === 3 ? a : b;
  assert.match(loser.stderr, /another switchyard command holds the lock: deploy \(pid \d+ on /);
  assert.doesNotMatch(loser.stdout, /\[4\/8\]/, 'the loser did no deploy step');
  // Exactly one deploy happened: green is live, and history holds init + one deploy.
  assert.equal((await p.get('/api/echo')).colour, 'green');
  const history = (await p.file('.switchyard/history.jsonl'))!
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    history.map((h) => `${h.type}:${h.result}`),
    ['init:success', 'deploy:success'],
  );
  assert.equal((await p.run(['status'])).code, 0);
});
