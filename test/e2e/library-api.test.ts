/**
 * The library API (package.json "exports" -> dist/index.js), imported by the package's own name as
 * a user's script would: init, deploy, switch, status and down of the fixture app, with real
 * processes behind the real built-in proxy on 127.0.0.1, and no CLI in between.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { budget } from '../helpers/budget.js';
import { makeProject, type Project } from '../helpers/project.js';

// Self-reference through the package's "exports" map: what `import 'switchyard'` gives a user.
const lib = (await import('switchyard' as string)) as typeof import('../../src/index.js');

describe('library API: import "switchyard"', () => {
  let p: Project;
  let engine: ReturnType<typeof lib.createEngine>;
  before(async () => {
    p = await makeProject('fixture');
    engine = lib.createEngine(await lib.loadConfig({ cwd: p.dir, env: p.env }));
  }, budget(500));
  after(async () => {
    await p.cleanup();
  }, budget(2_000));

  it('init, deploy, switch back and status work without the CLI', budget(3_900), async () => {
    const first = await lib.init(engine);
    assert.match(first.release, /^\d{8}-\d{6}-/);
    assert.equal((await p.get('/api/echo')).colour, 'blue');

    const d = await lib.deploy(engine, { autoSwitch: true });
    assert.deepEqual([d.from, d.to], ['blue', 'green']);
    const r = await p.get('/api/echo');
    assert.deepEqual([r.status, r.colour], [200, 'green']);
    assert.equal((await lib.readState(engine.paths))?.active, 'green');
    assert.equal((await p.file('.current-env'))?.trim(), 'green');

    const back = await lib.rollback(engine, { force: true });
    assert.deepEqual([back.from, back.to], ['green', 'blue']);
    assert.equal((await p.get('/api/echo')).colour, 'blue');

    const s = await lib.status(engine);
    assert.equal(s.active, 'blue');
    assert.equal(s.proxy.active, 'blue');
    const types = (await lib.readHistory(engine.paths)).map((h) => `${h.type}:${h.result}`);
    assert.deepEqual(types, ['init:success', 'deploy:success', 'rollback:success']);
  });

  // not yet measured: estimate
  it(
    'options are checked before anything runs: every problem at once, a usage error, no history record',
    budget(200),
    async () => {
      const before = (await lib.readHistory(engine.paths)).length;
      const t0 = performance.now();
      await assert.rejects(
        lib.deploy(engine, { canary: [-5], stepWait: -1, autoswitch: true } as never),
        (err: unknown) => {
          assert.ok(lib.isSwitchyardError(err));
          assert.equal(err.code, 'USAGE');
          assert.equal(err.exitCode, lib.ExitCode.usage);
          assert.match(err.message, /^invalid options for deploy \(\d+ problems\)$/);
          assert.ok(
            err.details.some((d) => d.startsWith('canary.0: must be at least 1')),
            err.details.join('; '),
          );
          assert.ok(
            err.details.some((d) => d.startsWith('stepWait:')),
            err.details.join('; '),
          );
          assert.ok(
            err.details.some((d) => d.startsWith('autoswitch: unknown key (did you mean "autoSwitch"?)')),
            err.details.join('; '),
          );
          return true;
        },
      );
      await assert.rejects(
        lib.switchTraffic(engine, 'purple' as never),
        (err: unknown) => lib.isSwitchyardError(err) && err.code === 'USAGE' && /colour/.test(err.details.join(' ')),
      );
      await assert.rejects(
        lib.switchTraffic(engine, 'green', { weight: 150 }),
        (err: unknown) =>
          lib.isSwitchyardError(err) &&
          err.code === 'USAGE' &&
          /weight: must be at most 100/.test(err.details.join(' ')),
      );
      // No backup, build or health step ran: it failed at once, and recorded nothing.
      assert.ok(performance.now() - t0 < 1_000, `took ${Math.round(performance.now() - t0)} ms`);
      assert.equal((await lib.readHistory(engine.paths)).length, before);
      assert.equal((await p.get('/api/echo')).colour, 'blue');
    },
  );

  it(
    'errors carry the exit code the CLI would use (a deploy without a TTY or --auto-switch)',
    budget(100),
    async () => {
      await assert.rejects(lib.deploy(engine, {}), (err: unknown) => {
        assert.ok(lib.isSwitchyardError(err));
        assert.equal(err.exitCode, lib.ExitCode.usage);
        return true;
      });
      assert.equal((await p.get('/api/echo')).colour, 'blue');
    },
  );
});
