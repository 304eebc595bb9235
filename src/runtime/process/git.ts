/**
 * Git for releases: which commit a snapshot is, whether the tree was dirty, and exporting a ref
 * with `git archive | tar -x` so the working tree is never touched. All argv, no shell.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { SwitchyardError } from '../../errors.js';

/** Git queries are local and quick; an archive of a large tree may take a while. */
const GIT_QUERY_TIMEOUT_MS = 30_000;
const ARCHIVE_TIMEOUT_MS = 10 * 60_000;

interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** One git query (argument array, no shell), bounded in time; never throws: see `code`. */
export function git(cwd: string, args: string[], signal?: AbortSignal): Promise<GitResult> {
  return new Promise((resolve) => {
    execFile(
      'git',
      args,
      { cwd, timeout: GIT_QUERY_TIMEOUT_MS, signal, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, LC_ALL: 'C' } },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : 1
          : 0;
        resolve({ code, stdout: String(stdout).trim(), stderr: String(stderr || (err ? err.message : '')).trim() });
      },
    );
  });
}

export interface GitCheckout {
  top: string;
  commit: string;
  dirty: boolean;
}

/** Undefined when `root` is not inside a git work tree with at least one commit. */
export async function gitCheckout(root: string, signal?: AbortSignal): Promise<GitCheckout | undefined> {
  const top = await git(root, ['rev-parse', '--show-toplevel'], signal);
  if (top.code !== 0) return undefined;
  const head = await git(root, ['rev-parse', '--short', 'HEAD'], signal);
  if (head.code !== 0) return undefined;
  // Our own state folder is not part of the app; a project that forgot to ignore it is not "dirty".
  const status = await git(root, ['status', '--porcelain', '--', '.', ':(exclude).switchyard'], signal);
  return { top: top.stdout, commit: head.stdout, dirty: status.code !== 0 || status.stdout.length > 0 };
}

/** The short commit `ref` names; GIT_FAILED with git's own message when it names none. */
export async function resolveRef(root: string, ref: string, signal?: AbortSignal): Promise<GitCheckout> {
  const top = await git(root, ['rev-parse', '--show-toplevel'], signal);
  if (top.code !== 0) {
    throw new SwitchyardError('GIT_FAILED', `cannot deploy ref "${ref}": ${root} is not a git checkout`, {
      hint: 'deploy the working tree (no ref), or run switchyard inside the git repository',
      details: top.stderr ? [top.stderr] : [],
    });
  }
  // `--end-of-options` so a ref such as "--output=x" can never be read as an option.
  const r = await git(
    root,
    ['rev-parse', '--verify', '--quiet', '--short', '--end-of-options', `${ref}^{commit}`],
    signal,
  );
  if (r.code !== 0 || !r.stdout) {
    const why = await git(root, ['rev-parse', '--verify', '--end-of-options', `${ref}^{commit}`], signal);
    throw new SwitchyardError('GIT_FAILED', `git does not know the ref "${ref}": ${why.stderr || 'not a commit'}`, {
      hint: 'check the name with `git log --oneline` or `git tag`; fetch first if it only exists on a remote',
    });
  }
  return { top: top.stdout, commit: r.stdout, dirty: false };
}

/**
 * Extracts folder `dir` (absolute, inside the checkout) of `commit` into `dest`, leaving out the
 * exclude patterns (GNU and BSD tar match them against any path suffix, like the copy does).
 */
export async function archiveInto(
  checkout: GitCheckout,
  commit: string,
  dir: string,
  dest: string,
  exclude: string[],
  signal?: AbortSignal,
): Promise<void> {
  const [top, abs] = await Promise.all([fs.realpath(checkout.top), fs.realpath(dir).catch(() => path.resolve(dir))]);
  const rel = path.relative(top, abs);
  if (rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new SwitchyardError('GIT_FAILED', `${dir} is outside the git repository ${top}`, {
      hint: 'deploy the working tree instead (no ref)',
    });
  }
  const treeish = `${commit}:${rel.split(path.sep).join('/')}`;
  await fs.mkdir(dest, { recursive: true });
  const tarArgs = [...exclude.map((p) => `--exclude=${p.replace(/^\.\/+|\/+$/g, '')}`), '-x', '-f', '-', '-C', dest];
  const g = spawn('git', ['archive', '--format=tar', treeish], {
    cwd: checkout.top,
    stdio: ['ignore', 'pipe', 'pipe'],
    signal,
  });
  const t = spawn('tar', tarArgs, { stdio: ['pipe', 'ignore', 'pipe'], signal });
  let gErr = '';
  let tErr = '';
  g.stderr.on('data', (d: Buffer) => (gErr += d.toString()));
  t.stderr.on('data', (d: Buffer) => (tErr += d.toString()));
  g.stdout.pipe(t.stdin);
  // tar exiting early closes its stdin; the resulting EPIPE on git's side is reported via exit codes.
  t.stdin.on('error', () => undefined);
  const exit = (c: ReturnType<typeof spawn>) =>
    new Promise<number | null>((resolve) => {
      c.on('error', () => resolve(-1));
      c.on('close', (code) => resolve(code));
    });
  const timer = setTimeout(() => {
    g.kill('SIGKILL');
    t.kill('SIGKILL');
  }, ARCHIVE_TIMEOUT_MS);
  try {
    const [gc, tc] = await Promise.all([exit(g), exit(t)]);
    if (signal?.aborted) throw new SwitchyardError('ABORTED', 'snapshot interrupted');
    if (gc !== 0)
      throw new SwitchyardError('GIT_FAILED', `git archive ${treeish} failed: ${gErr.trim() || `exit ${gc}`}`);
    if (tc !== 0)
      throw new SwitchyardError(
        'GIT_FAILED',
        `extracting git archive ${treeish} failed: ${tErr.trim() || `exit ${tc}`}`,
      );
  } finally {
    clearTimeout(timer);
  }
}
