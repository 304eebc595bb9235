/** Numbered steps: run a function as step i/n, report ✓/✗/– and its time, keep the error. */
import { errorMessage } from '../errors.js';
import type { Reporter, StepHandle } from './reporter.js';

export class StepRunner {
  private index = 0;
  constructor(
    private readonly reporter: Reporter,
    private readonly total: number,
  ) {}

  async run<T>(title: string, fn: (h: StepHandle) => Promise<T>): Promise<T> {
    const h = this.reporter.step(++this.index, this.total, title);
    let settled = false;
    const handle: StepHandle = {
      update: (t) => h.update(t),
      ok: (d) => ((settled = true), h.ok(d)),
      fail: (d) => ((settled = true), h.fail(d)),
      skip: (d) => ((settled = true), h.skip(d)),
    };
    try {
      const value = await fn(handle);
      if (!settled) h.ok();
      return value;
    } catch (e) {
      if (!settled) h.fail(errorMessage(e).split('\n')[0]);
      throw e;
    }
  }

  skip(title: string, why: string): void {
    this.reporter.step(++this.index, this.total, title).skip(why);
  }
}

export function newOperationId(): string {
  const t = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${t}-${Math.random().toString(16).slice(2, 6)}`;
}
