/**
 * Fault matrix, row 6: the nginx config switchyard renders (.switchyard/nginx/nginx.conf) is
 * edited by hand, broken or not, loaded by nginx or not. The next command that opens the proxy
 * notices (the file carries a hash of what switchyard wrote), keeps the user's version as
 * nginx.conf.edited, renders the file again, and says so. When nginx never loaded the edit it
 * already runs the rendered config, so nothing is reloaded and a keep-alive load through real
 * nginx (host mode) sees no failed request; when it did load it, a checked reload brings the
 * rendered config back (the one case with a reload, and its known keep-alive resets).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { editedByHand } from '../../src/proxy/nginx/files.ts';
import { workersOf } from '../../src/proxy/nginx/procfs.ts';
import { makeProject, type Project } from '../helpers/project.ts';
import { assertServedBy, loadOn, sleep, statusJson, waitFor, warmUp } from '../helpers/faults.ts';
import { budget } from '../helpers/budget.ts';

let p: Project;
let conf: string;
const masterPid = async () => Number((await p.file('.switchyard/nginx/nginx.pid'))?.trim());
const nginxT = () =>
  execFileSync('nginx', ['-t', '-q', '-e', 'stderr', '-p', `${path.dirname(conf)}/`, '-c', conf], {
    stdio: 'pipe',
    timeout: 15_000,
  });

before(async () => {
  execFileSync('nginx', ['-v'], { stdio: 'pipe', timeout: 10_000 }); // fail, never skip, without nginx
  // proxy.restart: never: the dead nginx below is for the next command to find, not for the supervisor.
  p = await makeProject('fixture', { proxy: 'nginx', proxyRestart: 'never' });
  conf = path.join(p.dir, '.switchyard', 'nginx', 'nginx.conf');
  const r = await p.run(['init']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(editedByHand(await fs.readFile(conf, 'utf8')), false, 'a rendered config carries its hash');
}, budget(4_000));
after(async () => {
  await p?.cleanup();
}, budget(3_000));

/** Runs one command under an 8-connection keep-alive load through nginx; returns it and the totals. */
async function underLoad(args: string[]) {
  const load = loadOn(p.port, { connections: 8, maxRequests: 40_000, maxMs: 60_000 });
  await warmUp(load, 300);
  const r = await p.run(args);
  await sleep(300); // requests right after the reload count too
  return { r, out: r.stdout + r.stderr, totals: await load.stop() };
}

test(
  'a broken hand edit nginx never loaded: the next command renders the file again, keeps the edit aside, drops nothing',
  budget(5_000),
  async () => {
    const rendered = await fs.readFile(conf, 'utf8');
    const pid = await masterPid();
    const workersBefore = (await workersOf(pid)).map((w) => w.pid);
    await fs.appendFile(conf, '\nthis is not an nginx directive;\n');
    assert.throws(nginxT, /unknown directive "this"/, 'the edit really is broken');
    // nginx still runs what it loaded before: traffic is fine, and status says all is well.
    assert.equal((await p.get('/api/echo')).colour, 'blue');

    const { r, out, totals } = await underLoad(['switch', 'blue']);
    assert.equal(r.code, 0, out);
    assert.match(
      r.stdout,
      new RegExp(
        `! ${conf.replace(/[.]/g, '\\.')} was changed by hand: ` +
          'switchyard renders it from switchyard\\.yml, so it was rendered again ' +
          `\\(your version is saved in ${conf.replace(/[.]/g, '\\.')}\\.edited; ` +
          'make lasting changes in switchyard\\.yml\\)',
      ),
    );
    assertServedBy(totals, 'blue', 'the re-render of a broken nginx.conf');
    assert.equal(await fs.readFile(conf, 'utf8'), rendered, 'the file is the rendered one again');
    assert.match(
      await fs.readFile(`${conf}.edited`, 'utf8'),
      /this is not an nginx directive;/,
      "the user's version is kept",
    );
    nginxT(); // passes again
    assert.equal(await masterPid(), pid, 'the same nginx master serves');
    // Not reloaded (a reload replaces every worker, and resets requests on keep-alive connections).
    assert.deepEqual(
      (await workersOf(pid)).map((w) => w.pid),
      workersBefore,
      'nginx was not reloaded: it already ran the rendered config',
    );
    assert.equal((await statusJson(p)).code, 0);

    // Once repaired, the next command has nothing to say about it.
    const again = await p.run(['switch', 'blue']);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.doesNotMatch(again.stdout, /changed by hand/);
  },
);

test(
  'a valid hand edit nginx did load (HUP): the next deploy renders and reloads the real config ' +
    '(the reload may reset idle keep-alive connections)',
  budget(5_000),
  async () => {
    await fs.rm(`${conf}.edited`, { force: true });
    const text = await fs.readFile(conf, 'utf8');
    const edited = text.replace(
      /add_header X-Switchyard-Env \$sy_colour always;/,
      '$&\n    add_header X-Hand-Edited yes always;',
    );
    assert.notEqual(edited, text, 'the rendered config has the colour header to edit next to');
    await fs.writeFile(conf, edited);
    process.kill(await masterPid(), 'SIGHUP');
    await waitFor('nginx to load the hand edit', async () => {
      const res = await fetch(`http://127.0.0.1:${p.port}/api/echo`).catch(() => undefined);
      return res?.headers.get('x-hand-edited') === 'yes';
    });

    await p.setBehaviour({ version: 'v2', mode: 'ok' });
    const { r, out, totals } = await underLoad(['deploy', '--auto-switch']);
    assert.equal(r.code, 0, out);
    assert.match(r.stdout, /was changed by hand: switchyard renders it from switchyard\.yml, so it was rendered again/);
    // nginx runs the hand edit, so only a reload brings the rendered config back. nginx before
    // 1.27.4 (no keepalive_min_timeout; Debian bookworm has 1.22) closes idle keep-alive client
    // connections when its old workers quit, and a request sent on one at that moment is reset:
    // at most one per connection, never an HTTP error. (Browsers retry such requests; undici does not.)
    // undici names the reset UND_ERR_SOCKET or ECONNRESET, depending on when in the exchange it lands.
    const reset = (totals.errors.UND_ERR_SOCKET ?? 0) + (totals.errors.ECONNRESET ?? 0);
    assert.equal(totals.failed, reset, `only keep-alive resets: ${JSON.stringify(totals.errors)}`);
    assert.ok(reset <= 8, `at most one reset per keep-alive connection (8): ${reset}`);
    assert.ok((totals.byColour.green ?? 0) > 0, JSON.stringify(totals.byColour));
    assert.equal(editedByHand(await fs.readFile(conf, 'utf8')), false);
    const res = await fetch(`http://127.0.0.1:${p.port}/api/echo`);
    assert.equal(res.headers.get('x-switchyard-env'), 'green');
    assert.equal(res.headers.get('x-hand-edited'), null, 'the hand edit is no longer loaded');
    assert.match(await fs.readFile(`${conf}.edited`, 'utf8'), /X-Hand-Edited/);
  },
);

test(
  'a broken hand edit and a dead nginx: the next command renders the file again and restarts nginx on the live colour',
  budget(2_200),
  async () => {
    await fs.appendFile(conf, '\nhttp { broken\n');
    const pid = await masterPid();
    // The workers of a SIGKILLed master keep the listening socket: stop them too, as a crash would.
    const workers = await workersOf(pid);
    process.kill(pid, 'SIGKILL');
    for (const w of workers) process.kill(w.pid, 'SIGKILL');
    await waitFor(
      'nginx to be gone',
      async () =>
        p.get('/api/echo').then(
          () => false,
          () => true,
        ),
      10_000,
    );

    const r = await p.run(['status']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /was changed by hand: switchyard renders it from switchyard\.yml, so it was rendered again/);
    assert.match(r.stdout, /the proxy was not running: restarted it \(pid \d+\), serving green/);
    assert.notEqual(await masterPid(), pid);
    const load = loadOn(p.port, { connections: 8, maxRequests: 3000, maxMs: 20_000 });
    assertServedBy(await load.done, 'green', 'the restarted nginx');
    nginxT();
  },
);
