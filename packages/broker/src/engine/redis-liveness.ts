import { unavailable } from './redis-errors.js';
import type { RedisKeyspace } from './redis-keyspace.js';
import type { PresenceConnection } from './redis-presence-scripts.js';

/** What liveness needs from the engine. */
export interface LivenessContext {
  readonly keyspace: RedisKeyspace;
  readonly nodeId: string;
  /** How long the node's liveness keys outlive its last heartbeat. */
  readonly ttlMs: number;
  /** The command connection while Redis is up, else undefined (a heartbeat then waits for the next turn). */
  connection(): PresenceConnection | undefined;
  /** Up to a batch of `nodeId`'s members of `topic` leave: `alive` (stop: the node is back) or members left. */
  sweepTopic(topic: string, nodeId: string, self: boolean): Promise<'alive' | number>;
  /** This node's liveness had lapsed (and was set again): its members may have been swept. */
  membershipLost(): void;
  /** `node` was found dead and swept; its lease is held (renewed) until the promise settles. */
  nodeSwept(node: string): Promise<void> | undefined;
}

/** Buckets swept or cleaned at once (cluster mode has 256), so a sweep neither crawls nor floods Redis. */
const bucketsAtOnce = 16;
/** Topics read per `SSCAN` of a node's sweep index. */
const topicsPerScan = 100;

/**
 * A node's presence liveness on Redis (docs/design/presence.md §3.4). `live:<node>` exists in every bucket
 * while the node runs: a heartbeat every third of the TTL (±10% jitter, on an unref'd timer) renews them and
 * its deadline in the `nodes` zset, and reads the nodes whose deadline passed. A renewal that finds a key gone
 * (an outage or a pause longer than the TTL: the node may have been swept) sets it again and reports
 * `membershipLost`, so the broker re-asserts its members; so does a join that answered `dead`.
 *
 * A dead node is swept by whichever node first takes its lease (`SET NX PX`): every topic in its sweep index,
 * a batch at a time, each member leaving `expired` with its entry; then `nodeSwept` runs under the lease (the
 * webhooks' record of its connections); then it is forgotten (unless a bucket says
 * it came back). A sweeper that dies lets the lease lapse and the next heartbeat anywhere takes over; every
 * step is idempotent. Bound: last heartbeat + TTL + 1 s + a third of the TTL, plus the sweep itself.
 */
export class RedisLiveness {
  private timer: NodeJS.Timeout | undefined;
  private state: 'idle' | 'running' | 'halted' | 'unregistered' = 'idle';
  /** Whether a heartbeat has set the keys once: only a lapse after that is a lost membership. */
  private registered = false;
  private beating: Promise<void> | undefined;
  private unregistering: Promise<void> | undefined;
  private readonly sweeping = new Set<string>();

  constructor(private readonly context: LivenessContext) {}

  /** Registers the node (its first heartbeat) and keeps it alive until `halt` or `unregister`. */
  async start(): Promise<void> {
    if (this.state !== 'idle') return;
    this.state = 'running';
    await this.beat();
    this.schedule();
  }

  /** One heartbeat now (at most one runs at a time); nothing once halted or unregistered. Never rejects. */
  beat(): Promise<void> {
    if (this.state !== 'running') return Promise.resolve();
    this.beating ??= this.heartbeat()
      .catch(() => undefined) // Redis is down: the link reports it; the next turn tries again
      .finally(() => (this.beating = undefined));
    return this.beating;
  }

  /**
   * Stops heartbeating without cleaning up, as a process frozen or killed with -9 would: the node's members leave
   * `expired` once its liveness lapses. For fault drills and tests; `close` and `unregister` are the clean ways.
   */
  halt(): void {
    if (this.state === 'running' || this.state === 'idle') this.state = 'halted';
    this.clearTimer();
  }

  /**
   * Clean shutdown: stops heartbeating, then every member of this node leaves now (`disconnected`) and it is
   * forgotten. Once done, later calls (the engine's `close` after the broker's shutdown) do nothing; a failed
   * one may be tried again.
   */
  unregister(): Promise<void> {
    this.unregistering ??= this.runUnregister().catch((error: unknown) => {
      this.unregistering = undefined;
      throw error;
    });
    return this.unregistering;
  }

  private async runUnregister(): Promise<void> {
    this.state = 'unregistered';
    this.clearTimer();
    await this.beating;
    const connection = this.context.connection();
    if (connection === undefined) throw unavailable('Redis is unreachable: this node cannot unregister now');
    const { keyspace, nodeId } = this.context;
    await this.sweepNode(connection, nodeId, true);
    await inBatches(keyspace.bucketTags(), (tag) => connection.del(keyspace.liveKey(tag, nodeId)));
    await connection.zrem(keyspace.nodesKey(), nodeId);
  }

  /** Heartbeats stop for good (the engine closes). */
  stop(): void {
    if (this.state !== 'unregistered') this.state = 'halted';
    this.clearTimer();
  }

  private schedule(): void {
    if (this.state !== 'running') return;
    const interval = (this.context.ttlMs / 3) * (0.9 + Math.random() * 0.2);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.beat().then(() => this.schedule());
    }, interval);
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async heartbeat(): Promise<void> {
    const connection = this.context.connection();
    if (connection === undefined) return;
    const { keyspace, nodeId, ttlMs } = this.context;
    const ttl = String(Math.ceil(ttlMs));
    const tags = keyspace.bucketTags();
    const renewed = await inBatches(tags, (tag) => connection.pexpire(keyspace.liveKey(tag, nodeId), ttl), tags.length);
    const lapsed = tags.filter((_, index) => renewed[index] === 0);
    await inBatches(lapsed, (tag) => connection.set(keyspace.liveKey(tag, nodeId), '1', 'PX', ttl), lapsed.length);
    const due = (await connection.switchboardPresenceHeartbeat(keyspace.nodesKey(), nodeId, ttl)) as string[];
    if (lapsed.length > 0 && this.registered && this.state === 'running') this.context.membershipLost();
    this.registered = true;
    // Not awaited: a long sweep must never delay this node's own next heartbeat.
    for (const node of due) if (node !== nodeId) void this.sweep(connection, node);
  }

  private async sweep(connection: PresenceConnection, dead: string): Promise<void> {
    if (this.sweeping.has(dead)) return;
    this.sweeping.add(dead);
    const { keyspace, nodeId, ttlMs } = this.context;
    const lease = keyspace.sweepLeaseKey(dead);
    const ttl = String(Math.ceil(ttlMs));
    try {
      if ((await connection.set(lease, nodeId, 'PX', ttl, 'NX')) !== 'OK') return;
      // A node without members is never told apart by a topic's sweep: its liveness is read once more.
      const alive = (await this.sweepNode(connection, dead, false, () => connection.pexpire(lease, ttl))) || (await this.liveAgain(connection, dead));
      if (!alive) await this.whileLeased(this.context.nodeSwept(dead), () => connection.pexpire(lease, ttl));
      await connection.switchboardPresenceSwept(keyspace.nodesKey(), lease, dead, nodeId, alive ? '' : '1');
    } catch {
      // An outage mid-sweep: the lease lapses and the next heartbeat (here or elsewhere) sweeps again.
    } finally {
      this.sweeping.delete(dead);
    }
  }

  /** Whether `node` set its liveness again (it was paused, not dead), as its first bucket says. */
  private async liveAgain(connection: PresenceConnection, node: string): Promise<boolean> {
    const { keyspace } = this.context;
    const [tag] = keyspace.bucketTags();
    return tag !== undefined && (await connection.exists(keyspace.liveKey(tag, node))) === 1;
  }

  /** Renews the lease every third of the TTL until `work` settles (rejecting as it does). */
  private async whileLeased(work: Promise<void> | undefined, renewLease: () => Promise<unknown>): Promise<void> {
    if (work === undefined) return;
    const timer = setInterval(() => void renewLease().catch(() => undefined), this.context.ttlMs / 3);
    try {
      await work;
    } finally {
      clearInterval(timer);
    }
  }

  /** Sweeps every topic in `node`'s index of every bucket; true if a bucket said the node is alive. */
  private async sweepNode(connection: PresenceConnection, node: string, self: boolean, renewLease?: () => Promise<unknown>): Promise<boolean> {
    const { keyspace } = this.context;
    const answers = await inBatches(keyspace.bucketTags(), async (tag) => {
      const index = keyspace.nodeTopicsKey(tag, node);
      let cursor = '0';
      do {
        const [next, topics] = await connection.sscan(index, cursor, 'COUNT', topicsPerScan);
        for (const topic of topics) {
          for (let left = await this.context.sweepTopic(topic, node, self); left !== 0; left = await this.context.sweepTopic(topic, node, self)) {
            if (left === 'alive') return true;
          }
          await renewLease?.();
        }
        cursor = next;
      } while (cursor !== '0');
      return false;
    });
    return answers.includes(true);
  }
}

/** Runs `task` for every item, `size` at a time; the results in order. */
async function inBatches<T, R>(items: readonly T[], task: (item: T) => Promise<R>, size = bucketsAtOnce): Promise<R[]> {
  const results: R[] = [];
  for (let start = 0; start < items.length; start += size) {
    results.push(...(await Promise.all(items.slice(start, start + Math.max(1, size)).map(task))));
  }
  return results;
}
