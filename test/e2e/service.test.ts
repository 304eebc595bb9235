/**
 * `switchyard service install | uninstall | status` (issue 12 part 5, start at boot) with the built CLI:
 * the unit file written, kept, refused, replaced and removed in a temp unit folder; an unprivileged user
 * refused with nothing written; and the unit's own command line, run as systemd would (its folder, its
 * PATH, its env file, nothing of this shell), bringing the project back after a simulated reboot, with
 * the apps serving on after that supervisor is stopped (KillMode=process). These machines run no systemd
 * as PID 1, so systemctl itself is not exercised. Never writes to /etc/systemd or ~/.config: every run
 * passes --unit-dir or --print.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { liveness } from '../../src/util/procinfo.ts';
import { budget } from '../helpers/budget.ts';
import { CLI, makeProject, type Project, type RunResult } from '../helpers/project.ts';

let p: Project;
let tmp: string;
const UNIT = 'switchyard-fixture.service';
const unitFile = () => path.join(tmp, 'units', UNIT);

before(async () => {
  p = await makeProject('fixture');
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'sy-e2e-service-'));
  await fs.mkdir(path.join(tmp, 'units'));
}, budget(1_000));
after(async () => {
  await p?.cleanup();
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
}, budget(3_000));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const service = (args: string[], env?: NodeJS.ProcessEnv) => p.run(['service', ...args], { env });
const out = (r: RunResult) => `exit ${r.code}\n${r.stdout}${r.stderr}`;
const systemUnit = path.join('/etc/systemd/system', UNIT);

test('--print writes nothing and prints the unit of this project; --json gives one event', budget(2_000), async () => {
  const existed = existsSync(systemUnit);
  const r = await service(['install', '--print']);
  assert.equal(r.code, 0, out(r));
  assert.ok(r.stdout.includes(`--config ${path.join(p.dir, 'switchyard.yml')} up --foreground`), r.stdout);
  assert.match(r.stdout, new RegExp(`^WorkingDirectory=${p.dir}$`, 'm'));
  assert.match(r.stdout, /^KillMode=process$/m);
  assert.match(r.stdout, /^WantedBy=multi-user\.target$/m);
  assert.match(r.stderr, /\$\{SWITCHYARD_PORT\} .* comes from this shell/, 'the shell variable is named');
  assert.equal(existsSync(systemUnit), existed, 'nothing written to /etc/systemd/system');
  assert.deepEqual(await fs.readdir(path.join(tmp, 'units')), []);

  const j = await service(['install', '--print', '--user', '--json']);
  assert.equal(j.code, 0, out(j));
  const events = j.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(events.length, 1, j.stdout);
  assert.equal(events[0].event, 'service');
  assert.equal(events[0].action, 'print');
  assert.match(events[0].file, /systemd\/user\/switchyard-fixture\.service$/);
  assert.match(events[0].text, /^WantedBy=default\.target$/m);
});

test(
  'install, again (nothing to do), a changed unit (exit 2, then --force), status, uninstall',
  budget(10_000),
  async () => {
    const dir = path.join(tmp, 'units');
    const before = await service(['status', '--unit-dir', dir]);
    assert.equal(before.code, 0, out(before));
    assert.match(before.stdout, new RegExp(`file: +${unitFile()} \\(not installed\\)`));
    assert.match(before.stdout, /systemd: +cannot be asked \(systemd is not running on this machine\)/);

    const printed = (await service(['install', '--print'])).stdout;
    const r = await service(['install', '--unit-dir', dir]);
    assert.equal(r.code, 0, out(r));
    assert.match(r.stdout, new RegExp(`✓ wrote ${unitFile()}`));
    assert.match(r.stdout, /systemd is not running on this machine .*\n {2}systemctl daemon-reload\n/);
    assert.match(r.stdout, /\n {2}systemctl enable --now switchyard-fixture\.service\n/);
    const st = await fs.stat(unitFile());
    assert.equal(st.mode & 0o777, 0o644);
    assert.equal(await fs.readFile(unitFile(), 'utf8'), printed, 'the file is what --print shows');
    assert.deepEqual(await fs.readdir(dir), [UNIT], 'no temp file left');

    const again = await service(['install', '--unit-dir', dir]);
    assert.equal(again.code, 0, out(again));
    assert.match(again.stdout, /already installed .*nothing to do/);
    const json = await service(['status', '--unit-dir', dir, '--json']);
    const ev = JSON.parse(json.stdout.trim());
    assert.deepEqual(
      [ev.event, ev.action, ev.file, ev.installed, ev.matches],
      ['service', 'status', unitFile(), true, true],
    );
    assert.equal(ev.text, printed);

    // Another PATH makes another unit: refused without --force, naming the file.
    const env = { PATH: `/opt/sy-test/bin:${process.env.PATH}` };
    const changed = await service(['install', '--unit-dir', dir], env);
    assert.equal(changed.code, 2, out(changed));
    assert.match(changed.stderr, new RegExp(`${unitFile()} exists and differs`));
    assert.match(changed.stderr, /\+ Environment=PATH=\/opt\/sy-test\/bin:/);
    assert.equal(await fs.readFile(unitFile(), 'utf8'), printed, 'unchanged');
    const stale = await service(['status', '--unit-dir', dir], env);
    assert.match(stale.stdout, /matches: +no: differs/);
    const forced = await service(['install', '--unit-dir', dir, '--force'], env);
    assert.equal(forced.code, 0, out(forced));
    assert.match(forced.stdout, /✓ replaced /);
    assert.match(await fs.readFile(unitFile(), 'utf8'), /^Environment=PATH=\/opt\/sy-test\/bin:/m);

    const un = await service(['uninstall', '--unit-dir', dir]);
    assert.equal(un.code, 0, out(un));
    assert.match(un.stdout, new RegExp(`✓ removed ${unitFile()}`));
    assert.match(un.stdout, /the apps and the proxy keep running/);
    assert.deepEqual(await fs.readdir(dir), []);
    const un2 = await service(['uninstall', '--unit-dir', dir]);
    assert.equal(un2.code, 0, out(un2));
    assert.match(un2.stdout, /is not installed .*nothing to do/);
    const after = await service(['status', '--unit-dir', dir]);
    assert.match(after.stdout, /\(not installed\)/);
  },
);

/** The CLI as user nobody (uid/gid 65534, no groups), from the project folder. */
function asNobody(args: string[]): Promise<RunResult> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const argv = ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, ...args];
    const env = { ...p.env, HOME: '/nonexistent' };
    execFile('setpriv', argv, { cwd: p.dir, env, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

test(
  'an unprivileged user: a folder it cannot write is exit 1 naming the path, nothing written',
  budget(3_000),
  async () => {
    // nobody must read the project (mkdtemp made it 0700), the node binary and dist/ (checked, not assumed).
    await fs.chmod(p.dir, 0o755);
    await fs.chmod(tmp, 0o755); // mkdtemp's 0700 would refuse nobody even the lookup of the unit folder
    const works = await asNobody(['--version']);
    assert.equal(works.code, 0, `nobody cannot run the CLI here: ${out(works)}`);
    // Owned by root, mode 0555: root could still write it (hence the unprivileged user), nobody cannot.
    const ro = path.join(tmp, 'read-only');
    await fs.mkdir(ro);
    await fs.chmod(ro, 0o555);
    const r = await asNobody(['service', 'install', '--unit-dir', ro]);
    assert.equal(r.code, 1, out(r));
    assert.match(r.stderr, new RegExp(`cannot write ${path.join(ro, UNIT)}: permission denied`));
    assert.match(r.stderr, /hint: .*--unit-dir/);
    assert.deepEqual(await fs.readdir(ro), [], 'nothing written, not even a temp file');

    const sys = await asNobody(['service', 'install']);
    assert.equal(sys.code, 1, out(sys));
    assert.match(sys.stderr, /needs root/);
    assert.match(sys.stderr, /run it as root \(sudo\), or use --user/);
    const printed = await asNobody(['service', 'install', '--print']);
    assert.equal(printed.code, 0, out(printed));
    assert.match(printed.stdout, /^ExecStart=/m);
  },
);

/** A unit's ExecStart= as an argument array, unquoted as systemd does (the subset unit.ts writes). */
function execStartArgv(unit: string): string[] {
  const line = /^ExecStart=(.*)$/m.exec(unit)?.[1];
  assert.ok(line, unit);
  const words = [...line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) =>
    m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] as string),
  );
  return words.map((w, i) => (i === 0 ? w : w.replaceAll('$$', '$')).replaceAll('%%', '%'));
}

async function killAll(): Promise<void> {
  // A pid file holds the pid first (the supervisor's may add its start time).
  const read = async (rel: string) => Number((await p.file(rel))?.trim().split(/\s+/)[0]);
  const pids = [await read('.switchyard/run/supervisor.pid'), await read('.switchyard/run/proxy.pid')];
  for (const c of ['blue', 'green']) {
    const run = await p.file(`.switchyard/run/${c}.json`);
    if (run) pids.push(...Object.values(JSON.parse(run).services as Record<string, { pid: number }>).map((s) => s.pid));
  }
  for (const pid of pids.filter((x) => Number.isInteger(x) && x > 1)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  const deadline = performance.now() + 5_000;
  const running = async () => (await Promise.all(pids.map((pid) => liveness(pid, undefined)))).includes('running');
  while ((await running()) && performance.now() < deadline) await sleep(20);
  assert.equal(await running(), false, 'every process of the project is gone');
}

test(
  "after a simulated reboot, the unit's command (its folder, PATH and env file only) brings the project back; " +
    'stopping it leaves the apps serving',
  budget(10_000),
  async () => {
    const init = await p.run(['init', '--skip-tests']);
    assert.equal(init.code, 0, out(init));
    const envFile = path.join(tmp, 'boot.env');
    await fs.writeFile(envFile, `SWITCHYARD_PORT=${p.port}\n`, { mode: 0o600 });
    const dir = path.join(tmp, 'units');
    const r = await service(['install', '--unit-dir', dir, '--env-file', envFile]);
    assert.equal(r.code, 0, out(r));
    assert.doesNotMatch(r.stdout, /SWITCHYARD_PORT/, 'the env file provides it: no warning');
    const unit = await fs.readFile(unitFile(), 'utf8');
    assert.match(unit, new RegExp(`^EnvironmentFile=${envFile}$`, 'm'));
    assert.ok(!unit.includes(String(p.port)), 'the value is not in the unit');

    await killAll();
    const [program, ...args] = execStartArgv(unit);
    // What systemd gives the service: the unit's PATH and the EnvironmentFile='s KEY=VALUE lines, nothing else.
    const fromFile = (await fs.readFile(envFile, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => l.split('='));
    const env = { PATH: /^Environment="?PATH=(.*?)"?$/m.exec(unit)?.[1], ...Object.fromEntries(fromFile) };
    const cwd = /^WorkingDirectory=(.*)$/m.exec(unit)?.[1];
    const child = spawn(program as string, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (b) => (log += b));
    child.stderr.on('data', (b) => (log += b));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const deadline = performance.now() + 20_000;
    while (!/in the foreground/.test(log) && performance.now() < deadline) await sleep(50);
    assert.match(log, /supervising .* in the foreground/, log);
    assert.equal((await p.get('/api/echo')).status, 200, log);

    // `systemctl stop` with KillMode=process: SIGTERM to the supervisor only.
    child.kill('SIGTERM');
    assert.equal(await exited, 0, log);
    assert.equal((await p.get('/api/echo')).status, 200, 'the apps and the proxy keep serving');
  },
);
