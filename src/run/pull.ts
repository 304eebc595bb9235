/** Step 3 of a deploy: `git pull --ff-only` in the project folder, when asked for. */
import fs from 'node:fs';
import path from 'node:path';
import { SwitchyardError } from '../errors.js';
import { execArgs } from '../util/exec.js';

export async function gitPull(dir: string, signal?: AbortSignal): Promise<string> {
  if (!fs.existsSync(path.join(dir, '.git'))) {
    const top = await execArgs('git', ['-C', dir, 'rev-parse', '--show-toplevel']).catch(() => undefined);
    if (!top)
      throw new SwitchyardError('GIT_FAILED', `${dir} is not a git checkout, so there is nothing to pull`, {
        hint: 'drop --pull (or deploy.pull) for this project',
      });
  }
  try {
    const r = await execArgs('git', ['-C', dir, 'pull', '--ff-only'], { timeoutMs: 120_000, signal });
    return r.stdout.trim().split('\n').pop() ?? '';
  } catch (e) {
    throw new SwitchyardError('GIT_FAILED', 'git pull --ff-only failed; nothing was changed', {
      cause: e,
      details: e instanceof SwitchyardError ? e.details : [],
      hint: 'resolve it in the checkout (diverged branch? no upstream?) and deploy again',
    });
  }
}
