/**
 * Fault matrix, row 7: the Docker engine restarts in the middle of a deploy (the example images,
 * nginx on the host, no shared database). scripts/setup-infra.sh started dockerd in the
 * background (no systemd here), so the test restarts it the same way: SIGTERM to the running
 * dockerd, then the same command line again, detached, logging to /var/log/dockerd.log; a
 * `finally` starts it again whatever happens.
 *
 * Stopping dockerd stops every container (no live-restore), so while the engine is down nothing
 * can answer behind nginx: requests in that window fail, and the test only counts them. What it
 * asserts: the deploy fails with a clear message (or completes); once the engine is back, the
 * restart policy (unless-stopped) brings blue back and it serves a keep-alive load through nginx
 * without one failed request; state.json and .current-env never changed; `status` names what the
 * interrupted deploy left and its fix works.
 *
 * Restarting the engine would break any other Docker test running at that moment: this file is
 * named *.serial.test.ts, which scripts/run-tests.mjs runs alone after every other file, and it
 * also waits (bounded) until no other switchyard app has containers being created or started.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { CLI } from '../helpers/project.ts';
import { docker, makeDockerProject, type DockerE2e } from '../helpers/docker-project.ts';
import { loadOn, sleep, waitFor, warmUp } from '../helpers/faults.ts';
import { budget } from '../helpers/budget.ts';

const app = `syfdock${process.pid}`;
const DOCKERD_LOG = '/var/log/dockerd.log';
let p: DockerE2e;
/** The running dockerd's command line, read from /proc before the test stops it. */
let dockerdArgv: string[] = [];

function dockerdPid(): number | undefined {
  try {
    const pid = Number(readFileSync('/var/run/docker.pid', 'utf8').trim());
    return existsSync(`/proc/${pid}`) ? pid : undefined;
  } catch {
    return undefined;
  }
}

const engineUp = () => {
  try {
    execFileSync('docker', ['info', '--format', '{{.ServerVersion}}'], { stdio: 'pipe', timeout: 5_000 });
    return true;
  } catch {
    return false;
  }
};

/** Starts dockerd as scripts/setup-infra.sh does (nohup ... >> log &), detached from this test. */
function startDockerd(): void {
  if (dockerdPid() !== undefined) return;
  const log = openSync(DOCKERD_LOG, 'a');
  const child = spawn(dockerdArgv[0]!, dockerdArgv.slice(1), { detached: true, stdio: ['ignore', log, log] });
  child.unref();
}

async function restartDockerd(): Promise<{ downMs: number }> {
  const pid = dockerdPid();
  assert.ok(pid, 'no running dockerd (/var/run/docker.pid): run scripts/setup-infra.sh');
  const t0 = performance.now();
  process.kill(pid, 'SIGTERM');
  await waitFor('dockerd to exit', () => !existsSync(`/proc/${pid}`), 60_000, 50);
  startDockerd();
  await waitFor('the Docker engine to answer again', engineUp, 60_000, 250);
  return { downMs: Math.round(performance.now() - t0) };
}

/**
 * Signs that someone else uses the engine right now: another Docker test file or benchmark running
 * (outside scripts/run-tests.mjs, which runs this file alone), or another app's containers being
 * created or restarted.
 */
function othersBusy(): string[] {
  const busy: string[] = [];
  for (const pid of readdirSync('/proc').filter(
    (d) => /^\d+$/.test(d) && Number(d) !== process.pid && Number(d) !== process.ppid,
  )) {
    const cmd = (() => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      } catch {
        return '';
      }
    })();
    if (
      /\bnode\b/.test(cmd) &&
      /test\/(e2e|integration)\/(docker-|runtime-docker|backup-container|infra)|bench\/.*docker/.test(cmd) &&
      !cmd.includes('faults-docker')
    )
      busy.push(`pid ${pid}: ${cmd.slice(0, 120)}`);
  }
  // A container of another app in one of these states for less than a minute is being worked on
  // now. One left in "created" for longer is a leftover nobody is starting (a CI run waited on such
  // a leftover until its timeout): it does not mind the engine restarting.
  const rows = docker(
    'ps',
    '-a',
    '--filter',
    'label=switchyard.app',
    '--format',
    '{{.Label "switchyard.app"}}\t{{.Names}}\t{{.State}}\t{{.CreatedAt}}',
  )
    .split('\n')
    .filter(Boolean)
    .map((r) => r.split('\t'));
  // CreatedAt reads "2026-12-07 03:40:14 +0000 UTC": date, time and offset make an ISO 8601 time.
  const recent = (created: string) => {
    const [day, time, offset] = created.split(' ');
    const at = Date.parse(`${day}T${time}${offset?.replace(/(\d\d)$/, ':$1')}`);
    return !(Date.now() - at >= 60_000);
  };
  const active = rows.filter(
    ([owner, , state, created]) =>
      owner !== app && /created|restarting|removing/.test(state ?? '') && recent(created ?? ''),
  );
  return [...busy, ...active.map(([, name, state]) => `container ${name} is ${state}`)];
}

before(async () => {
  assert.ok(existsSync(CLI), `${CLI} is missing: run \`npm run build\` first`);
  assert.ok(engineUp(), 'the Docker engine does not answer: run scripts/setup-infra.sh');
  const pid = dockerdPid();
  assert.ok(pid, 'no dockerd pid in /var/run/docker.pid: run scripts/setup-infra.sh');
  dockerdArgv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  assert.match(dockerdArgv[0] ?? '', /dockerd$/);
  p = await makeDockerProject({ app, sharedDb: false });
  const yml = path.join(p.dir, 'switchyard.yml');
  await fs.writeFile(yml, (await fs.readFile(yml, 'utf8')).replace(/^checks:\n/m, 'checks:\n  timeout: 30s\n'));
  const init = await p.cli(['init']);
  assert.equal(init.code, 0, init.out);
}, budget(20_000));

after(async () => {
  // Whatever happened above, the engine must be running for everything after this file.
  if (dockerdArgv.length && !engineUp()) {
    startDockerd();
    await waitFor('the Docker engine to answer again', engineUp, 60_000, 250).catch(() => undefined);
  }
  if (p) await p.cleanup();
}, budget(20_000));

test(
  'dockerd restarted during the health checks: ' +
    'the deploy fails clearly, blue comes back and serves, state never changed',
  budget(21_000),
  async (t) => {
    const stateBefore = await p.file('.switchyard/state.json');
    const envBefore = await p.file('.current-env');
    await fs.writeFile(path.join(p.root, 'app', 'api', 'VERSION'), '2.0.0\n');

    // Bounded: no other Docker test may be creating containers when the engine goes away.
    let busy: string[] = [];
    await waitFor(
      'other Docker tests to leave the engine idle',
      () => (busy = othersBusy()).length === 0,
      45_000,
      1000,
    ).catch((e) => {
      throw new Error(`${(e as Error).message}: ${busy.join('; ')}`);
    });

    const load = loadOn(p.port, { path: '/api/health', connections: 8, maxRequests: 200_000, maxMs: 240_000 });
    await warmUp(load, 200);
    const child = spawn(process.execPath, [CLI, 'deploy', '--auto-switch'], {
      cwd: p.dir,
      env: p.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const closed = new Promise<number | null>((r) => child.once('close', r));
    const kill = setTimeout(() => child.kill('SIGKILL'), 240_000);
    let outage = { from: 0, to: 0, downMs: 0 };
    try {
      await waitFor(
        'the health step of the deploy',
        () => /\[5\/8\] Running health checks on green/.test(out),
        180_000,
        20,
      );
      outage.from = Date.now();
      outage = { ...outage, ...(await restartDockerd()) };
    } finally {
      if (!engineUp()) startDockerd();
    }
    const code = await closed;
    clearTimeout(kill);

    const exitedAt = Date.now();
    // Blue's containers come back by their restart policy: wait until nginx gets a 200 from blue. A
    // status check is needed: while blue's container is still down nginx answers 502, and its
    // X-Switchyard-Env header names blue on that 502 too (a CI run ended the outage on such an answer).
    const blueAnswers = async () => {
      const r = await p.get('/api/health').catch(() => undefined);
      return r?.status === 200 && r.colour === 'blue';
    };
    await waitFor('blue to answer through nginx again', blueAnswers, 90_000, 250);
    outage.to = Date.now();
    await sleep(1500);
    const totals = await load.stop();

    // The deploy did not pass: it failed, saying the engine went away (never a stack trace).
    assert.equal(code, 1, out);
    // What it says depends on the moment: dockerd first stops the containers (level 1: green's api
    // or frontend "exited", whichever went first), then stops answering ("cannot reach the Docker
    // engine at ...").
    assert.match(out, /\[5\/8\] Running health checks on green\.\.\. ✗/, out);
    assert.match(
      out,
      new RegExp(
        'green did not become healthy[\\s\\S]*level 1 processes running: ' +
          'FAILED - (api|frontend): not running \\(\\S+ is exited|cannot reach the Docker engine at ',
      ),
      out,
    );
    assert.doesNotMatch(out, /internal error|please report/, out);
    assert.doesNotMatch(out, /\[7\/8\]/, 'no switch was attempted');
    assert.equal(await p.file('.switchyard/state.json'), stateBefore, 'state.json unchanged');
    assert.equal(await p.file('.current-env'), envBefore, '.current-env unchanged');

    // Outside the outage, not one request failed; inside it, failures are the engine's, not ours.
    // A request is inside when it was in flight at any moment of the outage: one sent a millisecond
    // before the engine began to stop can be answered 502 by it (a CI run saw exactly that).
    const outside = totals.samples.filter((s) => {
      const sent = totals.startedAt + s.at;
      const answered = totals.startedAt + (s.end ?? s.at);
      return answered < outage.from || sent > outage.to;
    });
    const failedOutside = outside.filter((s) => s.status < 200 || s.status >= 400);
    const timeline =
      `(ms since the load began: engine stopped ${outage.from - totals.startedAt}, ` +
      `deploy exited ${exitedAt - totals.startedAt}, blue answered ${outage.to - totals.startedAt})`;
    assert.equal(
      failedOutside.length,
      0,
      `failed outside the engine outage ${timeline}: ${JSON.stringify(failedOutside.slice(0, 5))}`,
    );
    assert.ok(
      outside.filter((s) => totals.startedAt + s.at > outage.to).length > 100,
      'enough requests after the engine came back',
    );
    assert.ok(
      outside.every((s) => s.colour === 'blue'),
      'only blue ever served',
    );

    // After the outage: a fresh keep-alive load through nginx, all blue, none failed.
    const after = loadOn(p.port, { path: '/api/health', connections: 8, maxRequests: 2000, maxMs: 30_000 });
    const t2 = await after.done;
    assert.equal(t2.failed, 0, JSON.stringify(t2.errors));
    assert.deepEqual(Object.keys(t2.byColour), ['blue']);

    // status explains what is left (the engine restarted green's containers too) and the fix works.
    const st = await p.cli(['status']);
    if (st.code !== 0) {
      assert.equal(st.code, 4, st.out);
      assert.match(st.out, /fix: run `switchyard (deploy|down green|recover)/, st.out);
    }
    const fix = await p.cli(/switchyard recover/.test(st.out) ? ['recover'] : ['down', 'green']);
    assert.equal(fix.code, 0, fix.out);
    if (p.containers().length > 2) assert.equal((await p.cli(['down', 'green'])).code, 0);
    const again = await p.cli(['status']);
    assert.equal(again.code, 0, again.out);
    assert.deepEqual(p.containers(), [`${app}-api-blue`, `${app}-frontend-blue`]);
    t.diagnostic(
      `engine down for ${outage.downMs} ms; ${totals.failed} of ${totals.sent} requests failed, ` +
        `all inside the outage (${outage.to - outage.from} ms until blue answered again)`,
    );
  },
);
