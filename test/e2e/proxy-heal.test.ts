/**
 * A proxy that heals itself (issue 12, part 3), with real processes under a bounded keep-alive load:
 * the process that holds the public port is SIGKILLed (the built-in daemon; the primary of a
 * two-worker daemon; nginx's master and workers) and, with no command run, the supervisor starts it
 * again from its saved routing: the colour a deploy switched to, not the one `init` activated. The
 * restart is in the history; state.json and .current-env never change. `down` leaves it down, and
 * `proxy.restart: never` leaves it to the next command.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { workersOf } from '../../src/proxy/nginx/procfs.ts';
import { budget } from '../helpers/budget.ts';
import { startKeepAliveLoad } from '../helpers/kill-steps.ts';
import { makeProject, type Project, type ProjectOptions } from '../helpers/project.ts';
import { SUPERVISE_POLL_MS } from '../../src/runtime/process/supervisor.ts';
import { childrenOf } from '../../src/util/procinfo.ts';
import { pidIn } from '../helpers/reboot.ts';
import { request } from '../helpers/traffic.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `/api/echo` on a new connection each time (bounded) until `colour` answers 200; returns how long that took. */
async function servedAgain(p: Project, colour: string, maxMs: number): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < maxMs) {
    const r = await request(p.port, '/api/echo').catch(() => undefined);
    if (r?.status === 200 && r.colour === colour) return Math.round(performance.now() - t0);
    await sleep(10);
  }
  throw new Error(`${colour} not served again within ${maxMs} ms`);
}

/**
 * SIGKILLs the proxy whole, as a crash would: the built-in daemon with its workers (left alone, a
 * worker whose primary died keeps its open connections a while), or nginx's master and workers.
 */
async function killProxy(p: Project, kind: 'builtin' | 'nginx'): Promise<number> {
  const main = pidIn(path.join(p.dir, '.switchyard', kind === 'builtin' ? 'run/proxy.pid' : 'nginx/nginx.pid'));
  assert.ok(main, 'the proxy has a pid file');
  const children = kind === 'builtin' ? childrenOf(main) : (await workersOf(main)).map((w) => w.pid);
  process.kill(main, 'SIGKILL');
  for (const c of children) process.kill(c, 'SIGKILL');
  return main;
}

async function deployed(opts: ProjectOptions): Promise<{ p: Project; state: string; env: string }> {
  const p = await makeProject('fixture', opts);
  let r = await p.run(['init', '--skip-tests']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  await p.setBehaviour({ version: 'v2', mode: 'ok' });
  r = await p.run(['deploy', '--auto-switch', '--skip-tests']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  return { p, state: (await p.file('.switchyard/state.json'))!, env: (await p.file('.current-env'))! };
}

for (const [kind, opts] of [
  ['builtin', {}],
  ['builtin', { workers: 2 }],
  ['nginx', { proxy: 'nginx' }],
] as const) {
  const name = `${kind}${'workers' in opts ? ` with ${opts.workers} workers` : ''}`;
  describe(name, () => {
    test(
      'SIGKILL of the process holding the public port: served again on the deployed colour with no command run',
      budget(9_000),
      async (t) => {
        if (kind === 'nginx') execFileSync('nginx', ['-v'], { stdio: 'pipe', timeout: 10_000 }); // fail, never skip
        const { p, state, env } = await deployed(opts);
        try {
          const load = startKeepAliveLoad(`http://127.0.0.1:${p.port}`, {
            path: '/api/echo',
            maxRequests: 20_000,
            maxMs: 6_000,
          });
          await sleep(300);
          const killed = await killProxy(p, kind);
          const back = await servedAgain(p, 'green', 10_000);
          const backAt = Date.now();
          await sleep(300);
          const totals = await load.stop();
          const after = totals.samples.filter((s) => totals.startedAt + s.at > backAt);
          t.diagnostic(
            `${name}: kill -9 of pid ${killed}: green served again after ${back} ms; ` +
              `load: ${totals.sent} sent, ${totals.failed} failed ${JSON.stringify(totals.errors)}`,
          );
          assert.ok(totals.ok > 0);
          assert.ok(
            after.every((s) => !s.error && s.status === 200),
            'once it is back, every request is answered',
          );
          assert.equal(await p.file('.switchyard/state.json'), state, 'state.json unchanged');
          assert.equal(await p.file('.current-env'), env, '.current-env unchanged');
          // The supervisor records the restart once the new proxy serves: poll (bounded) for the line.
          const proxyRestarts = async () =>
            ((await p.file('.switchyard/history.jsonl')) ?? '')
              .trim()
              .split('\n')
              .map((l) => JSON.parse(l) as { type: string; service?: string; result: string; to: string })
              .filter((h) => h.type === 'restart' && h.service === 'proxy');
          const recorded = performance.now() + 5_000;
          while ((await proxyRestarts()).length === 0 && performance.now() < recorded) await sleep(20);
          const restarts = await proxyRestarts();
          assert.deepEqual(
            restarts.map((h) => [h.result, h.to]),
            [['success', 'green']],
          );
          const st = await p.run(['status']);
          assert.equal(st.code, 0, st.stdout + st.stderr);
          assert.doesNotMatch(st.stdout, /the proxy was not running/, 'the supervisor had started it already');
          // The restarted proxy takes changes as before: a rollback switches it back to blue.
          const rb = await p.run(['rollback', '--force']);
          assert.equal(rb.code, 0, rb.stdout + rb.stderr);
          assert.equal((await p.get('/api/echo')).colour, 'blue');
        } finally {
          await p.cleanup();
        }
      },
    );
  });
}

test('down stops the proxy for good: the supervisor does not start it again', budget(4_000), async () => {
  const p = await makeProject('fixture');
  try {
    let r = await p.run(['init', '--skip-tests']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    r = await p.run(['down']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await sleep(SUPERVISE_POLL_MS * 7); // several supervisor rounds, had one survived
    await assert.rejects(p.get('/api/echo'), 'nothing listens on the public port');
    assert.equal(await p.file('.switchyard/run/supervisor.pid'), undefined, 'the supervisor is gone');
    // init brings everything back, the supervisor's watch over the proxy included.
    r = await p.run(['init', '--skip-tests']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await killProxy(p, 'builtin');
    await servedAgain(p, 'blue', 10_000);
  } finally {
    await p.cleanup();
  }
});

test('proxy.restart: never leaves a dead proxy to the next command', budget(4_000), async () => {
  const p = await makeProject('fixture', { proxyRestart: 'never' });
  try {
    const r = await p.run(['init', '--skip-tests']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await killProxy(p, 'builtin');
    await sleep(SUPERVISE_POLL_MS * 7); // several supervisor rounds
    await assert.rejects(p.get('/api/echo'), 'still down: nobody restarted it');
    const st = await p.run(['status']);
    assert.equal(st.code, 0, st.stdout + st.stderr);
    assert.match(st.stdout, /the proxy was not running: restarted it \(pid \d+\), serving blue/);
    assert.equal((await p.get('/api/echo')).colour, 'blue');
  } finally {
    await p.cleanup();
  }
});
