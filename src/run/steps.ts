/**
 * Numbered steps: run a function as step i/n, report ✓/✗/– and its time, keep the error. With a
 * journal, each step's start is on disk before the step runs, and its end right after.
 */
import { errorMessage } from '../errors.js';
import type { Journal } from '../state/journal.js';
import type { Reporter, StepHandle } from './reporter.js';

export class StepRunner {
  private index = 0;
  constructor(
    private readonly reporter: Reporter,
    private readonly total: number,
    private readonly journal?: Journal,
  ) {}

  async run<T>(title: string, fn: (h: StepHandle) => Promise<T>): Promise<T> {
    const index = ++this.index;
    await this.journal?.stepStarted(index, title);
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
    } catch (e) {
      if (!settled) h.fail(errorMessage(e).split('\n')[0]);
      await this.journal?.stepEnded(index, 'failed');
      throw e;
    }
    if (!settled) h.ok();
    await this.journal?.stepEnded(index, 'done');
    return value;
  }

  skip(title: string, why: string): void {
    const index = ++this.index;
    this.journal?.stepSkipped(index, title);
    this.reporter.step(index, this.total, title).skip(why);
  }
}

export function newOperationId(): string {
  const t = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${t}-${Math.random().toString(16).slice(2, 6)}`;
}
