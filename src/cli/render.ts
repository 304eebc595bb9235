/**
 * Renders engine progress: numbered steps with ✓/✗ like the guide, a spinner on a TTY, colour only
 * on a TTY, or one JSON event per line (--json). Everything printed goes through `redact` (I8).
 */
import type { Ora } from 'ora';
import pc from 'picocolors';
import { formatDuration } from '../config/duration.js';
import type { Reporter, StepHandle } from '../run/reporter.js';

export interface RenderOptions {
  json: boolean;
  tty: boolean;
  /** ora, loaded by the caller only when a spinner can be shown (it is slow to import). */
  spinner?: typeof import('ora').default;
  redact: (s: string) => string;
  out?: NodeJS.WritableStream;
}

/** What an error is, as data: its code and the exit code it ends the command with (--json carries both). */
export interface ErrorMeta {
  code: string;
  exitCode: number;
}

export function createRenderer(
  opts: RenderOptions,
): Reporter & { error(text: string, details: string[], hint: string | undefined, meta: ErrorMeta): void } {
  const out = opts.out ?? process.stdout;
  const colours = pc.createColors(opts.tty);
  const r = opts.redact;
  let openLine = false; // a plain-text step line waiting for its ✓

  const write = (s: string) => {
    if (openLine) {
      out.write('\n');
      openLine = false;
    }
    out.write(r(s) + '\n');
  };
  const emit = (event: string, data: Record<string, unknown>) => {
    out.write(r(JSON.stringify({ event, time: new Date().toISOString(), ...data })) + '\n');
  };

  const step = (index: number, total: number, title: string): StepHandle => {
    const label = `[${index}/${total}] ${title}...`;
    const started = performance.now();
    let spinner: Ora | undefined;
    if (opts.json) emit('step', { index, total, title, status: 'start' });
    else if (opts.tty && opts.spinner)
      spinner = opts.spinner({ text: r(label), stream: out as NodeJS.WriteStream, discardStdin: false }).start();
    else {
      if (openLine) out.write('\n');
      out.write(r(label));
      openLine = true;
    }
    const finish = (status: 'ok' | 'fail' | 'skip', detail?: string) => {
      const ms = Math.round(performance.now() - started);
      if (opts.json) return emit('step', { index, total, title, status, ms, ...(detail ? { detail } : {}) });
      const mark = status === 'ok' ? colours.green('✓') : status === 'fail' ? colours.red('✗') : colours.dim('–');
      const tail = `${mark} ${colours.dim(`(${formatDuration(ms)})`)}${detail ? ' ' + detail : ''}`;
      if (spinner) {
        spinner.stop();
        out.write(r(`${label} ${tail}`) + '\n');
      } else if (openLine) {
        out.write(r(` ${tail}`) + '\n');
        openLine = false;
      } else write(`${label} ${tail}`);
    };
    return {
      update: (text) => {
        if (opts.json) emit('progress', { index, text });
        else if (spinner) spinner.text = r(`${label} ${colours.dim(text)}`);
      },
      ok: (d) => finish('ok', d),
      fail: (d) => finish('fail', d),
      skip: (d) => finish('skip', d),
    };
  };

  return {
    step,
    info: (text) => (opts.json ? emit('info', { text }) : write(text)),
    warn: (text) => (opts.json ? emit('warning', { text }) : write(colours.yellow(`! ${text}`))),
    event: (name, data) => {
      if (opts.json) emit(name, data);
    },
    error: (text, details, hint, meta) => {
      if (opts.json)
        return emit('error', {
          code: meta.code,
          exitCode: meta.exitCode,
          message: text,
          details,
          ...(hint ? { hint } : {}),
        });
      if (openLine) {
        out.write('\n');
        openLine = false;
      }
      const err = (s: string) => process.stderr.write(r(s) + '\n');
      err(colours.red(`✗ ${text}`));
      for (const d of details) err(`  - ${d}`);
      if (hint) err(colours.dim(`  hint: ${hint}`));
    },
  };
}
