/**
 * For the backup tests: this process's children as /proc shows them (what any user could read in
 * their argv), a big table to dump, and bounded polling.
 */
import { readdirSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import type { TestPostgres } from './postgres.ts';

export interface ProcInfo {
  pid: number;
  argv: string[];
}

/** Live children of `ppid`, with the argv in /proc/<pid>/cmdline. */
export function childProcesses(ppid = process.pid): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ")".
      const [state, parent] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(parent) !== ppid || state === 'Z') continue;
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').filter(Boolean);
      out.push({ pid: Number(name), argv });
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

/** Gone, or a zombie nobody reaped yet. */
export function processGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

export const isProgram = (p: ProcInfo, program: string) => (p.argv[0] ?? '').split('/').pop() === program;

/** Polls `fn` every few ms until it returns a value; throws after timeoutMs. */
export async function poll<T>(
  what: string,
  fn: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  everyMs = 3,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A realistic table of `rows` rows (~130 bytes each) in database `db`, created fresh. */
export async function createBigTable(pg: TestPostgres, db: string, rows: number): Promise<void> {
  await pg.psql(`CREATE DATABASE ${db}`, 'postgres');
  await pg.psql(
    `CREATE TABLE customers (id bigserial PRIMARY KEY, email text NOT NULL, name text NOT NULL, ` +
      `created_at timestamptz NOT NULL, note text);
     INSERT INTO customers (email, name, created_at, note)
       SELECT 'user' || g || '@example.com', 'Customer ' || g, ` +
      `timestamptz '2024-01-01' + g * interval '1 minute', repeat(md5(g::text), 3)
       FROM generate_series(1, ${rows}) g;`,
    db,
  );
}

/** Size of the hidden partial dump in dir, once one is being written. */
export async function partialBytes(dir: string): Promise<number | undefined> {
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const p = names.find((n) => n.endsWith('.partial'));
  if (!p) return undefined;
  const st = await fs.stat(`${dir}/${p}`).catch(() => undefined);
  return st && st.size > 0 ? st.size : undefined;
}
