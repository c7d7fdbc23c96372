/**
 * Which nodes are alive, for presence sweeps (docs/design/presence.md §3.4), pure: time comes in as arguments.
 * A node that runs renews its deadline (`beat`); one that stops renewing is due for a sweep once its deadline
 * has passed, and stays due until it is swept (`forget`) or comes back (`beat`). The memory cluster beats for
 * its attached nodes on every call, so a node is only ever due after `crash`.
 */
export class NodeLiveness {
  private readonly deadlines = new Map<string, number>();

  /** `node` is alive until `now + ttlMs`. */
  beat(node: string, now: number, ttlMs: number): void {
    this.deadlines.set(node, now + ttlMs);
  }

  /** `node` is gone: swept, or unregistered cleanly. */
  forget(node: string): void {
    this.deadlines.delete(node);
  }

  /** Whether `node` counts as alive at `now` (a node never seen does not). */
  alive(node: string, now: number): boolean {
    const deadline = this.deadlines.get(node);
    return deadline !== undefined && deadline > now;
  }

  /** Nodes whose deadline has passed, oldest deadline first: each is swept and then forgotten. */
  due(now: number): string[] {
    return [...this.deadlines].filter(([, deadline]) => deadline <= now).sort((a, b) => a[1] - b[1]).map(([node]) => node);
  }

  /** Nodes tracked, alive or due. */
  get size(): number {
    return this.deadlines.size;
  }
}
