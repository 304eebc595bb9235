/**
 * A step's failure says what was being done: plain errors from outside get the step's title; bugs,
 * aborts, a full disk and switchyard's own errors pass as they are.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ExitCode, SwitchyardError } from '../../src/errors.ts';
import type { Reporter, StepHandle } from '../../src/run/reporter.ts';
import { inContext, StepRunner } from '../../src/run/steps.ts';

function recorder(): { reporter: Reporter; lines: string[] } {
  const lines: string[] = [];
  const handle = (title: string): StepHandle => ({
    update: () => {},
    ok: (d) => lines.push(`ok ${title} ${d ?? ''}`.trim()),
    fail: (d) => lines.push(`fail ${title}: ${d ?? ''}`),
    skip: (d) => lines.push(`skip ${title} ${d ?? ''}`.trim()),
  });
  return {
    reporter: { step: (_i, _n, title) => handle(title), info: () => {}, warn: () => {}, event: () => {} },
    lines,
  };
}

test('a plain error from an adapter is wrapped with the step that was running, its cause kept', async () => {
  const { reporter, lines } = recorder();
  const steps = new StepRunner(reporter, 1);
  const cause = Object.assign(new Error('EACCES: permission denied, open /srv/app/.switchyard/releases/x'), {
    code: 'EACCES',
  });
  await assert.rejects(
    steps.run('Building and starting green environment', async () => {
      throw cause;
    }),
    (e: unknown) => {
      assert.ok(e instanceof SwitchyardError);
      assert.equal(e.code, 'STEP_FAILED');
      assert.equal(e.exitCode, ExitCode.failed);
      assert.equal(
        e.message,
        'Building and starting green environment: EACCES: permission denied, open /srv/app/.switchyard/releases/x',
      );
      assert.equal(e.cause, cause);
      return true;
    },
  );
  assert.deepEqual(lines, [
    'fail Building and starting green environment: EACCES: permission denied, open /srv/app/.switchyard/releases/x',
  ]);
});

test('bugs, aborts, a full disk and switchyard errors are not reworded', () => {
  const own = new SwitchyardError('HEALTH_FAILED', 'green did not become healthy');
  const bug = new TypeError("Cannot read properties of undefined (reading 'port')");
  const abort = new DOMException('This operation was aborted', 'AbortError');
  const full = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  for (const e of [own, bug, abort, full, 'a string']) assert.equal(inContext(e, 'Backing up database'), e);
});
