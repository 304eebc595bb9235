/** What the postgres backupper knows about dump files and the SQL it sends, kept apart from the flow. */
import fs from 'node:fs/promises';

/**
 * Exact row counts of every base table outside the system schemas, as a JSON array of
 * {name, rows}. The server builds each count query itself (format %I), so no identifier is
 * quoted on our side; query_to_xml runs it inside this one statement.
 */
export const countRowsSql =
  `SELECT coalesce(json_agg(json_build_object(
  'name', t.table_schema || '.' || t.table_name,
  'rows', (xpath('/row/c/text()', ` +
  `query_to_xml(format('SELECT count(*) AS c FROM %I.%I', t.table_schema, t.table_name), ` +
  `false, true, '')))[1]::text::bigint
) ORDER BY t.table_schema, t.table_name), '[]')
FROM information_schema.tables t
WHERE t.table_type = 'BASE TABLE' AND t.table_schema NOT IN ('pg_catalog', 'information_schema')`;

async function readAt(file: string, where: 'start' | 'end', n: number): Promise<Buffer> {
  const fh = await fs.open(file, 'r');
  try {
    const { size } = await fh.stat();
    const len = Math.min(size, n);
    const buf = Buffer.alloc(len);
    await fh.read(buf, 0, len, where === 'start' ? 0 : size - len);
    return buf;
  } finally {
    await fh.close();
  }
}

/** Custom-format archives start with the magic "PGDMP". */
export async function isCustomArchive(file: string): Promise<boolean> {
  return (await readAt(file, 'start', 5)).toString('latin1') === 'PGDMP';
}

/**
 * A plain dump pg_dump finished: its "dump complete" comment is followed by nothing but comment
 * markers, blank lines and (since 15.14 / 16.10 / 17.6) the `\unrestrict <key>` line.
 */
export async function plainDumpComplete(file: string): Promise<boolean> {
  const text = (await readAt(file, 'end', 4096)).toString('utf8');
  const i = text.lastIndexOf('\n-- PostgreSQL database dump complete\n');
  if (i < 0) return false;
  return text
    .slice(i + 1)
    .split('\n')
    .slice(1)
    .every((l) => l === '' || l === '--' || l.startsWith('\\unrestrict '));
}

/**
 * pg_restore's --dbname for the database the tool connects to: a conninfo naming only the
 * database, so host, port, user and password still come from the tool's environment, and a name
 * holding "=" or a URL prefix is not mistaken for a connection string.
 */
export function restoreDbArg(db: string): string {
  return `dbname='${db.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
