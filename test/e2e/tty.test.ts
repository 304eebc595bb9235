/** On a terminal, deploy and rollback ask (and a "no" changes nothing); `script` gives the CLI a real PTY. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { CLI, useProject } from '../helpers/project.ts';

const project = useProject({ before, after }, 'fixture', { init: true });

/** Runs the CLI under a pseudo-terminal, answering each prompt that matches with the given keys. */
function onTty(args: string[], answers: Array<[RegExp, string]>): Promise<{ code: number | null; out: string }> {
  const p = project();
  return new Promise((resolve) => {
    // script(1) runs the command with a PTY as its terminal (sized, as a real one is); the
    // command line is built from our own constants, not from input.
    const cmd = 'stty cols 120 rows 40; exec ' + [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const child = spawn('script', ['-qefc', cmd, '/dev/null'], { cwd: p.dir, env: { ...p.env, TERM: 'xterm' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    const pending = [...answers];
    const onData = (d: Buffer) => {
      out += d.toString();
      const next = pending[0];
      if (next && next[0].test(out)) {
        pending.shift();
        child.stdin.write(next[1]);
      }
    };
    child.stdout.on('data', onData);
    // Bounded: a runaway redraw loop must fail the test, not fill memory.
    child.stdout.on('data', () => out.length > 1_000_000 && child.kill('SIGKILL'));
    child.stderr.on('data', onData);
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

test('deploy on a TTY asks before switching; "n" leaves blue serving and state unchanged', async () => {
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

test('deploy on a TTY: "y" switches; rollback asks twice', async () => {
  const p = project();
  const d = await onTty(['deploy'], [[/Switch traffic to green\?/, 'y\r']]);
  assert.equal(d.code, 0, d.out);
  assert.equal((await p.get('/api/echo')).colour, 'green');
  const r = await onTty(['rollback'], [[/Continue with rollback\?/, 'y\r'], [/Stop green environment\?/, 'n\r']]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /green left running/);
  assert.equal((await p.get('/api/echo')).colour, 'blue');
});
