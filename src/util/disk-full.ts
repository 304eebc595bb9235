/**
 * A full disk (ENOSPC, or a quota: EDQUOT) is not a bug in switchyard and not a mystery to the
 * user: find it anywhere in an error's cause chain and say which folder needs room.
 */
import path from 'node:path';

const FULL = new Set(['ENOSPC', 'EDQUOT']);

/** The first error in `e`'s cause chain that reports a full disk, if any. */
export function diskFullCause(e: unknown): NodeJS.ErrnoException | undefined {
  for (let cur = e, depth = 0; cur && depth < 8; cur = (cur as { cause?: unknown }).cause, depth++) {
    const code = (cur as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && FULL.has(code)) return cur as NodeJS.ErrnoException;
    if (
      typeof (cur as Error).message === 'string' &&
      /\bENOSPC\b|no space left on device/i.test((cur as Error).message)
    )
      return cur as NodeJS.ErrnoException;
  }
  return undefined;
}

/** "no space left on device (ENOSPC)" plus the folder, for a message; and the fix, for a hint. */
export function describeDiskFull(
  err: NodeJS.ErrnoException,
  fallbackDir?: string,
): { what: string; folder: string | undefined; hint: string } {
  const code = typeof err.code === 'string' && FULL.has(err.code) ? err.code : 'ENOSPC';
  // copyfile and rename name both files: the one being written is `dest`.
  const written = (err as { dest?: unknown }).dest ?? err.path;
  const file = typeof written === 'string' ? written : undefined;
  const folder = file ? path.dirname(file) : fallbackDir;
  const what =
    `${code === 'EDQUOT' ? 'disk quota exceeded' : 'no space left on device'}` +
    ` (${code})${file ? ` writing ${file}` : ''}`;
  const hint = folder
    ? `free space on the disk that holds ${folder} (see \`df -h ${folder}\`), then run the command again`
    : 'free disk space (see `df -h`), then run the command again';
  return { what, folder, hint };
}
