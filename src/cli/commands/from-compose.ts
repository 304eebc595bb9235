/**
 * `switchyard init --from-compose [FILE]`: writes switchyard.yml from the docker compose files a
 * team already has (the converter is src/compose), then says what it decided, what it could not
 * express, and the next step. It deploys nothing and loads no switchyard.yml.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { convertCompose, type ComposeNote } from '../../compose/index.js';
import { SECRET_NAME } from '../../config/env.js';
import { makeRedactor } from '../../config/redact.js';
import { isSwitchyardError, redactError, SwitchyardError } from '../../errors.js';
import { writeFileAtomic } from '../../state/atomic.js';
import { createRenderer } from '../render.js';
import { wantsJson, type GlobalOptions } from '../session.js';

export interface FromComposeOptions {
  /** `true` when given without FILE: the files `docker compose` would read. */
  fromCompose?: string | boolean;
  file?: string[];
  force?: boolean;
  print?: boolean;
}

/** The options that only make sense with --from-compose, and init's that make none with it. */
export function checkFromComposeUsage(o: FromComposeOptions & { plan?: boolean; ref?: string; skipTests?: boolean }) {
  const named = (flags: Array<[unknown, string]>) => flags.filter(([v]) => v !== undefined && v !== false);
  if (o.fromCompose === undefined) {
    const lone = named([
      [o.file?.length ? o.file : undefined, '-f/--file'],
      [o.force, '--force'],
      [o.print, '--print'],
    ]);
    if (lone.length)
      throw new SwitchyardError('USAGE', `${lone.map(([, n]) => n).join(', ')} only go with --from-compose`, {
        hint: 'switchyard init --from-compose [FILE] [-f OVERRIDE]... [--force | --print]',
      });
    return;
  }
  const clash = named([
    [o.plan, '--plan'],
    [o.ref, '--ref'],
    [o.skipTests, '--skip-tests'],
  ]);
  if (clash.length)
    throw new SwitchyardError(
      'USAGE',
      `--from-compose only writes switchyard.yml: it takes no ${clash.map(([, n]) => n).join(', ')}`,
      { hint: 'run `switchyard init --from-compose` first, then `switchyard init --plan` and `switchyard init`' },
    );
  if (o.force && o.print)
    throw new SwitchyardError('USAGE', '--print writes no file: it takes no --force', { hint: 'leave out --force' });
}

/** Where switchyard.yml goes: the -c path, else the one the other commands would find, else ./switchyard.yml. */
export function configTarget(config: string | undefined, cwd: string): string {
  if (config !== undefined) return path.resolve(cwd, config);
  const found = ['switchyard.yml', 'switchyard.yaml'].map((n) => path.join(cwd, n)).find((f) => existsSync(f));
  return found ?? path.join(cwd, 'switchyard.yml');
}

/** FILE first, then the -f files; none: the converter finds them here, as `docker compose` does. */
function composeFiles(o: FromComposeOptions): string[] | undefined {
  const given = [...(typeof o.fromCompose === 'string' ? [o.fromCompose] : []), ...(o.file ?? [])];
  return given.length ? given : undefined;
}

/** Values the notes must never show: those of secret-looking variables (I8). */
function secretValues(env: Record<string, string | undefined>): string[] {
  return Object.entries(env)
    .filter(([k, v]) => SECRET_NAME.test(k) && v !== undefined && v.length >= 4)
    .map(([, v]) => v!);
}

export async function fromCompose(g: GlobalOptions, o: FromComposeOptions): Promise<void> {
  const cwd = process.cwd();
  const target = configTarget(g.config, cwd);
  const dir = path.dirname(target);
  const shown = path.relative(cwd, target) || path.basename(target);
  if (!o.print && !o.force && existsSync(target))
    throw new SwitchyardError('USAGE', `${shown} already exists: nothing was written`, {
      hint: 'add --force to replace it, or --print to see the conversion without writing',
    });
  const env = process.env;
  const redact = makeRedactor(secretValues(env));
  const result = await convertCompose({ dir: cwd, files: composeFiles(o), env, outDir: dir }).catch((e: unknown) => {
    // A message may quote an interpolated value: hide the secret ones (I8).
    throw isSwitchyardError(e) ? redactError(e, redact) : e;
  });

  const json = wantsJson(g);
  // With --print stdout carries the YAML alone: everything else goes to stderr.
  const out = o.print ? process.stderr : process.stdout;
  const render = createRenderer({
    json,
    tty: !json && !!out.isTTY && (out.columns ?? 0) > 0,
    redact,
    out,
  });
  if (o.print) await new Promise<void>((resolve) => process.stdout.write(result.text, () => resolve()));
  else await writeFileAtomic(target, result.text, 0o644);

  // The converter names files relative to the folder it read from: this one.
  const line = (n: ComposeNote) => `${n.file}:${n.line}: ${n.message}`;
  const read = result.files.join(', ');
  const next = g.config === undefined ? '' : ` -c ${shown}`;
  if (json) {
    render.event('compose', {
      written: o.print ? null : target,
      files: result.files,
      decisions: result.decisions,
      unsupported: result.unsupported,
      next: [`switchyard init --plan${next}`, `switchyard init${next}`],
    });
    return;
  }
  render.info(o.print ? `Converted ${read} (written to stdout)` : `Wrote ${shown} from ${read}; nothing was deployed`);
  if (result.decisions.length) {
    render.info(`\nDecided (${result.decisions.length}):`);
    for (const n of result.decisions) render.info(`  ${line(n)}`);
  }
  if (result.unsupported.length) {
    render.info(`\nCould not express (${result.unsupported.length}): add or check these by hand`);
    for (const n of result.unsupported) render.warn(line(n));
  }
  const file = o.print ? 'the file' : shown;
  render.info(
    `\nNext: review ${file}, then \`switchyard init --plan${next}\` to see the steps, and \`switchyard init${next}\``,
  );
}
