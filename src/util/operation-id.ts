/** The id of a history record: its start time (UTC, to the second) and 4 random hex digits. */
export function newOperationId(): string {
  const t = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${t}-${Math.random().toString(16).slice(2, 6)}`;
}
