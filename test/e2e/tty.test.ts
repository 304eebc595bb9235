/** On a terminal, deploy and rollback ask (and a "no" changes nothing); `script` gives the CLI a real PTY. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { budget } from '../helpers/budget.ts';
import { useProject } from '../helpers/project.ts';
import { runOnTty } from '../helpers/tty.ts';

const project = useProject({ before, after }, 'fixture', { init: true });

/** Runs the CLI under a pseudo-terminal, answering each prompt that matches with the given keys. */
function onTty(args: string[], answers: Array<[RegExp, string]>): Promise<{ code: number | null; out: string }> {
  const p = project();
  return runOnTty(
    p.dir,
    p.env,
    args,
    answers.map(([when, keys]) => ({ when, keys })),
  );
}

test('deploy on a TTY asks before switching; "n" leaves blue serving and state unchanged', budget(1_900), async () => {
  const p = project();
  const before = await p.file('.switchyard/state.json');
  await p.setBehaviour({ version: 'v2', mode: 'ok' });
  const r = await onTty(['deploy'], [[/Switch traffic to green\?/, 'n\r']]);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /not switched: you answered no/);
  assert.match(r.out, /green stopped; blue is still serving/);
  assert.equal(await p.file('.switchyard/state.json'), before);
  assert.equal((await p.get('/api/echo')).colour, 'blue');
});

test('deploy on a TTY: "y" switches; rollback asks twice', budget(1_600), async () => {
  const p = project();
  const d = await onTty(['deploy'], [[/Switch traffic to green\?/, 'y\r']]);
  assert.equal(d.code, 0, d.out);
  assert.equal((await p.get('/api/echo')).colour, 'green');
  const r = await onTty(
    ['rollback'],
    [
      [/Continue with rollback\?/, 'y\r'],
      [/Stop green environment\?/, 'n\r'],
    ],
  );
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /green left running/);
  assert.equal((await p.get('/api/echo')).colour, 'blue');
});
