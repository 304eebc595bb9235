/** Quotes a program's output under an error message: each line as `  | line`. */
export function indent(text: string): string {
  return text
    ? text
        .split('\n')
        .map((l) => `  | ${l}`)
        .join('\n')
    : '  (no output)';
}
