/**
 * Numbered steps: run a function as step i/n, report ✓/✗/– and its time, keep the error. With a
 * journal, each step's start is on disk before the step runs, and its end right after.
 */
import { errorMessage, isSwitchyardError, SwitchyardError } from '../errors.js';
import { diskFullCause } from '../util/disk-full.js';
import type { Journal } from '../state/journal.js';
import type { ActionKind } from '../plan/actions.js';
import type { Reporter, StepHandle } from './reporter.js';

export class StepRunner {
  private index = 0;
  constructor(
    private readonly reporter: Reporter,
    private readonly total: number,
    private readonly journal?: Journal,
  ) {}

  async run<T>(title: string, fn: (h: StepHandle) => Promise<T>, kind?: ActionKind): Promise<T> {
    const index = ++this.index;
    await this.journal?.stepStarted(index, title, kind);
    const h = this.reporter.step(index, this.total, title);
    let settled = false;
    const handle: StepHandle = {
      update: (t) => h.update(t),
      ok: (d) => ((settled = true), h.ok(d)),
      fail: (d) => ((settled = true), h.fail(d)),
      skip: (d) => ((settled = true), h.skip(d)),
    };
    let value: T;
    try {
      value = await fn(handle);
    } catch (caught) {
      const e = inContext(caught, title);
      // The step's own line already names it: it shows the cause alone.
      if (!settled) h.fail(errorMessage(caught).split('\n')[0]);
      await this.journal?.stepEnded(index, 'failed');
      throw e;
    }
    if (!settled) h.ok();
    await this.journal?.stepEnded(index, 'done');
    return value;
  }

  skip(title: string, why: string, kind?: ActionKind): void {
    const index = ++this.index;
    this.journal?.stepSkipped(index, title, kind);
    this.reporter.step(index, this.total, title).skip(why);
  }
}

export { newOperationId } from '../util/operation-id.js';

/** Programming errors: bugs in switchyard, reported as such (with their stack), never reworded. */
const BUGS = [TypeError, ReferenceError, RangeError, SyntaxError];

/**
 * A plain error from outside switchyard's own checks (a file system call, the Docker engine, a
 * socket) gets what was being done in front of it, so the message says where it happened instead
 * of a bare "EACCES: permission denied" or a stack trace. A SwitchyardError already says it; an
 * abort and a full disk are worded by the operation and the CLI; a programming error stays a bug.
 */
export function inContext(e: unknown, doing: string): unknown {
  if (isSwitchyardError(e) || !(e instanceof Error) || BUGS.some((B) => e instanceof B)) return e;
  if (e.name === 'AbortError' || diskFullCause(e) !== undefined) return e;
  return new SwitchyardError('STEP_FAILED', `${doing}: ${e.message}`, {
    cause: e,
    hint: 'the cause is in the message; `switchyard status` shows what runs and what is live',
  });
}
