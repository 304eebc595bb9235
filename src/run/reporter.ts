/** How the engine tells the world what it is doing; the CLI renders it (text, spinner or JSON lines). */
export interface StepHandle {
  /** Progress text while the step runs (shown by the spinner; a JSON event otherwise). */
  update(text: string): void;
  ok(detail?: string): void;
  fail(detail?: string): void;
  skip(detail?: string): void;
}

export interface Reporter {
  step(index: number, total: number, title: string): StepHandle;
  info(text: string): void;
  warn(text: string): void;
  /** A structured fact for machines (--json); text renderers may ignore it. */
  event(name: string, data: Record<string, unknown>): void;
}

export interface Asker {
  readonly interactive: boolean;
  /** Asks on a TTY. Callers check `interactive` first; without a TTY this must never be called. */
  confirm(question: string, defaultAnswer: boolean): Promise<boolean>;
}

/** A reporter that says nothing: for library users who only want the result. */
export const silentReporter: Reporter = {
  step: () => ({ update() {}, ok() {}, fail() {}, skip() {} }),
  info() {},
  warn() {},
  event() {},
};
