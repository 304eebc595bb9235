/** What a printed plan says about the world besides its steps: things in the way of running it now. */
import { describeInterruption } from './recover.js';
import type { Facts } from './facts.js';

export function operationNotes(f: Pick<Facts, 'lockHeld' | 'interrupted'>): string[] {
  const notes: string[] = [];
  if (f.lockHeld) {
    notes.push('another switchyard command holds the lock right now: this one would be refused (exit 3) until it ends');
  }
  if (f.interrupted) {
    notes.push(`${describeInterruption(f.interrupted)}; \`switchyard recover\` converges it first`);
  }
  return notes;
}
