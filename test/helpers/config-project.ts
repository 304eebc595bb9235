/**
 * Config tests' projects: a temp folder with switchyard.yml (and any other files), removed when the
 * test process exits, and the problems loadConfig reports for it.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/load.ts';
import { SwitchyardError } from '../../src/errors.ts';

const dirs: string[] = [];
process.on('exit', () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A project folder with `cfg` as switchyard.yml and `files` beside it. */
export function configProject(prefix: string, cfg: object, files: Record<string, string> = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  dirs.push(dir);
  writeFileSync(path.join(dir, 'switchyard.yml'), stringify(cfg));
  for (const [f, body] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    writeFileSync(path.join(dir, f), body);
  }
  return dir;
}

/** The details of the CONFIG_INVALID error (exit 2) loadConfig must throw for the project in `dir`. */
export async function configProblems(dir: string): Promise<string[]> {
  try {
    await loadConfig({ cwd: dir, env: {} });
  } catch (e) {
    assert.ok(e instanceof SwitchyardError, `expected a SwitchyardError, got ${String(e)}`);
    assert.equal(e.code, 'CONFIG_INVALID');
    assert.equal(e.exitCode, 2);
    return e.details;
  }
  assert.fail('expected loadConfig to fail');
}
