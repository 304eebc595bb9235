/**
 * The instances of one service in one colour (services.<name>.instances), and which one a request
 * goes to: round robin over those not marked down. An instance is marked down when a connection to
 * it was refused (its process is gone or restarting), so new requests skip it for DOWN_MS instead
 * of each paying a refused connection and a retry; after that it is tried again, and an answer
 * from it clears the mark. When all are marked down one is still picked (round robin): a refusal
 * then costs a 502, as it would without the marks.
 * One instance is the common case and stays as cheap as before: pick() returns it, nothing is
 * marked, no clock is read. Nothing here allocates per request.
 * The group lives in the routing table (table.ts), so a routing change starts it afresh: at worst
 * one more refused connection (retried) per instance that is still down.
 */

/** How long an instance that refused a connection is skipped by new requests. */
export const DOWN_MS = 1_000;

const monotonic = (): number => performance.now();

export class InstanceGroup<T> {
  /** Per instance, until when (clock ms) it is skipped; 0 = not marked. Allocated at the first mark. */
  private downUntil: Float64Array | undefined;
  /** How many instances carry a mark (expired ones included until a pick sees them). */
  private marked = 0;
  private next = 0;

  /**
   * `items`: instance 1 first; it may still be filled in after construction (targets that point
   * back at their group), but not once the group is in use. `now`: a monotonic clock in ms.
   */
  constructor(
    readonly items: readonly T[],
    private readonly now: () => number = monotonic,
  ) {}

  get size(): number {
    return this.items.length;
  }

  /** The instance for a new request. */
  pick(): T {
    const items = this.items;
    const n = items.length;
    if (n === 1) return items[0]!;
    let i = this.next;
    if (this.marked !== 0) {
      const now = this.now();
      for (let k = 0; k < n && this.isDown(i, now); k++) i = i + 1 === n ? 0 : i + 1;
      // All marked down: `i` went round to where it started, which is the round-robin choice.
    }
    this.next = i + 1 === n ? 0 : i + 1;
    return items[i]!;
  }

  /**
   * For a retry: an instance not in `tried` and not marked down, in round-robin order, or undefined
   * when none is left. Only called after a failure, so it may be slower than pick().
   */
  another(tried: readonly T[]): T | undefined {
    const items = this.items;
    const n = items.length;
    const now = this.marked === 0 ? 0 : this.now();
    for (let k = 0, i = this.next; k < n; k++, i = i + 1 === n ? 0 : i + 1) {
      const item = items[i]!;
      if (tried.includes(item) || (this.marked !== 0 && this.isDown(i, now))) continue;
      this.next = i + 1 === n ? 0 : i + 1;
      return item;
    }
    return undefined;
  }

  /** `item` refused a connection: skip it for DOWN_MS (from now, also when it was marked already). */
  markDown(item: T): void {
    const n = this.items.length;
    if (n === 1) return;
    const i = this.items.indexOf(item);
    if (i < 0) return;
    const down = (this.downUntil ??= new Float64Array(n));
    if (down[i] === 0) this.marked++;
    // Never 0, even on a clock that starts at 0 (a test's).
    down[i] = Math.max(this.now() + DOWN_MS, Number.MIN_VALUE);
  }

  /** `item` answered: it is up. Cheap when nothing is marked (every response calls it). */
  markUp(item: T): void {
    if (this.marked === 0) return;
    const i = this.items.indexOf(item);
    if (i >= 0) this.clear(i);
  }

  /** Whether `item` is marked down right now. */
  isMarkedDown(item: T): boolean {
    if (this.marked === 0) return false;
    const i = this.items.indexOf(item);
    return i >= 0 && this.isDown(i, this.now());
  }

  /** Whether instance `i` is marked down at `now`; an expired mark is cleared on the way. */
  private isDown(i: number, now: number): boolean {
    const until = this.downUntil![i]!;
    if (until === 0) return false;
    if (until > now) return true;
    this.clear(i);
    return false;
  }

  private clear(i: number): void {
    const down = this.downUntil!;
    if (down[i] === 0) return;
    down[i] = 0;
    this.marked--;
  }
}
