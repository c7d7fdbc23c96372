import type { Logger } from 'pino';
import type {
  EnginePresence,
  LeaveReason,
  PresenceCounts,
  PresenceMember,
  PresenceOptions,
  PresencePosition,
  PresenceSnapshot,
  PresenceWrite,
} from '../engine/engine.js';
import type { BrokerStats } from '../stats.js';
import { presenceDataJson } from './presence-data.js';
import { PresenceMatcher } from './presence-matcher.js';

/** A snapshot, and unless `truncated` its members as `{"users":{…},"anonymous":{…}}` JSON text. */
export interface PresenceListing extends PresenceSnapshot {
  readonly dataJson?: string;
}

export interface PresenceRegistryOptions {
  /** The engine's presence; the hub hands it over, so the hub stays the node's only door to the engine. */
  readonly engine: EnginePresence;
  /** `PRESENCE`: the topics that keep members. */
  readonly patterns: readonly string[];
  /** Roots (the user topic prefix) that a pattern starting with a wildcard does not reach. */
  readonly reservedRoots?: readonly string[];
  /** What every join and leave tells the engine: the event cap and the entries' retention. */
  readonly write: PresenceOptions;
  /** `PRESENCE_MAX_MEMBERS`: a listing beyond it is counts only. */
  readonly maxMembers: number;
  readonly logger: Logger;
  /** Counts the changes the event cap coalesced (`presence_coalesced_total`). */
  readonly stats?: BrokerStats;
  /** The engine's clock (a `flushAt` is on it). @default Date.now */
  readonly now?: () => number;
  /** Told of each membership the engine took or ended (webhooks); must not throw. */
  readonly onChange?: (change: PresenceChange) => void;
}

/** A membership begun or ended on this node, as the engine confirmed it. */
export type PresenceChange =
  | { readonly kind: 'added'; readonly topic: string; readonly connectionId: string; readonly member: PresenceMember }
  | { readonly kind: 'removed'; readonly topic: string; readonly connectionId: string; readonly reason: LeaveReason };

/**
 * This node's presence members (docs/design/presence.md §4.2): which of its connections are members of which
 * topics, and the engine writes that make them so. Writes of one (topic, connection) run one after the other,
 * so a leave never overtakes the join it undoes (a connection closing while its subscribe is being answered
 * would otherwise stay a member for good). When the engine coalesces a change past the per-topic event cap,
 * a timer flushes the topic's stats entry at `flushAt`.
 */
export class PresenceRegistry {
  private readonly options: PresenceRegistryOptions;
  private readonly matcher: PresenceMatcher;
  private readonly now: () => number;
  /** Local members per topic, as the engine confirmed them (with what a re-join writes again). */
  private readonly members = new Map<string, Map<string, PresenceMember>>();
  /**
   * Topics where a write was not confirmed (the engine was down or answered late), so the engine may disagree
   * with `members`; with the reason of each leave that failed, which the reconcile writes late.
   */
  private readonly unsettled = new Map<string, Map<string, LeaveReason>>();
  private reconciling: Promise<void> | undefined;
  private reconcileAgain: Set<string> | undefined;
  /** The last write queued per (topic, connection); removed once it settles and nothing follows it. */
  private readonly tails = new Map<string, Promise<unknown>>();
  /** Per topic, the timer of its pending coalesced stats entry. */
  private readonly flushTimers = new Map<string, { readonly timer: NodeJS.Timeout; readonly at: number }>();
  private closed = false;

  constructor(options: PresenceRegistryOptions) {
    this.options = options;
    this.matcher = new PresenceMatcher(options.patterns, options.reservedRoots);
    this.now = options.now ?? Date.now;
  }

  /** Whether `topic` keeps presence (an exact topic a `PRESENCE` pattern matches). */
  serves(topic: string): boolean {
    return this.matcher.matches(topic);
  }

  /** Local members across topics (metrics). */
  get memberCount(): number {
    let count = 0;
    for (const connections of this.members.values()) count += connections.size;
    return count;
  }

  /** Makes `member` a member of `topic`; rejects with the engine's error (e.g. unavailable). */
  join(topic: string, member: PresenceMember): Promise<void> {
    return this.serialized(topic, member.connectionId, async () => {
      let write: PresenceWrite;
      try {
        write = await this.options.engine.join(topic, member, this.options.write);
      } catch (error) {
        // Unconfirmed is not undone: Redis may have taken it. The reconcile after `onResumed` settles it.
        this.unsettle(topic);
        throw error;
      }
      this.track(topic, member, true);
      this.afterWrite(topic, write);
      if (write.outcome !== 'unchanged') this.options.onChange?.({ kind: 'added', topic, connectionId: member.connectionId, member });
    });
  }

  /**
   * Ends a membership. Never rejects: a leave the engine cannot take now is logged and written by the
   * reconcile once the engine is back (`reconcileUnsettled`); the connection is gone either way.
   */
  leave(topic: string, connectionId: string, reason: LeaveReason): Promise<void> {
    return this.serialized(topic, connectionId, async () => {
      this.track(topic, { connectionId }, false);
      try {
        const write = await this.options.engine.leave(topic, connectionId, reason, this.options.write);
        this.afterWrite(topic, write);
        if (write.outcome !== 'unchanged') this.options.onChange?.({ kind: 'removed', topic, connectionId, reason });
      } catch (error) {
        this.options.logger.warn({ err: error, topic, connectionId }, 'presence leave failed: written when the engine is back');
        this.unsettle(topic).set(connectionId, reason);
      }
    });
  }

  /**
   * This node's liveness had lapsed, so another node may have swept its members (`onMembershipLost`):
   * reconciles every topic it has members in or owes a write to. Never rejects.
   */
  reconcileAll(): Promise<void> {
    return this.reconcile(new Set([...this.members.keys(), ...this.unsettled.keys()]));
  }

  /** The engine is back (`onResumed`): reconciles the topics whose writes failed meanwhile. Never rejects. */
  reconcileUnsettled(): Promise<void> {
    return this.reconcile(new Set(this.unsettled.keys()));
  }

  /**
   * Waits, at most `timeoutMs`, for the writes queued so far (a shutdown's `disconnected` leaves); true if
   * they all settled in time.
   */
  async settled(timeoutMs: number): Promise<boolean> {
    const pending = Promise.all([...this.tails.values(), this.reconciling]).then(() => true);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    try {
      return await Promise.race([pending, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The topic's members, or its counts only beyond `PRESENCE_MAX_MEMBERS`, with the members as the answer's
   * `data` JSON text (protocol.md §13.2), built once for the WebSocket and HTTP answers alike.
   */
  async list(topic: string): Promise<PresenceListing> {
    const snapshot = await this.options.engine.list(topic, { maxMembers: this.options.maxMembers });
    return snapshot.members === undefined ? snapshot : { ...snapshot, dataJson: presenceDataJson(snapshot.members) };
  }

  /** The topic's counts and position, O(1). */
  stats(topic: string): Promise<PresencePosition & PresenceCounts> {
    return this.options.engine.stats(topic);
  }

  /**
   * SIGTERM removes this node's members at once (docs/design/presence.md §3.4): the closed sessions' queued
   * `disconnected` leaves get up to `drainMs` to be written, then the engine's `unregister` removes whatever
   * is left (with the same reason) and forgets the node, so other nodes never wait for its liveness to lapse.
   * Called before the engine closes. Never rejects: if Redis is down, the other nodes sweep (`expired`).
   */
  async shutdown(drainMs: number): Promise<void> {
    const { logger, engine } = this.options;
    if (!(await this.settled(drainMs))) logger.warn({ drainMs }, 'shutdown: presence leaves still pending after the drain; unregistering removes the rest');
    try {
      await engine.unregister();
      logger.info('shutdown: presence members removed');
    } catch (error) {
      logger.warn({ err: error }, 'shutdown: presence unregister failed');
    }
  }

  /** Stops the flush timers (the node is closing; the engine's own sweep writes what is owed). */
  close(): void {
    this.closed = true;
    for (const { timer } of this.flushTimers.values()) clearTimeout(timer);
    this.flushTimers.clear();
  }

  /** One reconcile at a time; topics asked for meanwhile run right after it. */
  private reconcile(topics: Set<string>): Promise<void> {
    if (this.reconciling !== undefined) {
      this.reconcileAgain ??= new Set();
      for (const topic of topics) this.reconcileAgain.add(topic);
      return this.reconciling;
    }
    const run = async (): Promise<void> => {
      let next: Set<string> | undefined = topics;
      while (next !== undefined && next.size > 0 && !this.closed) {
        this.reconcileAgain = undefined;
        for (const topic of next) await this.reconcileTopic(topic);
        next = this.reconcileAgain;
      }
      this.reconcileAgain = undefined;
      this.reconciling = undefined;
    };
    this.reconciling = run();
    return this.reconciling;
  }

  /**
   * Makes the engine's view of this node's members of `topic` match the node's (design §3.4): joins what the
   * engine lacks (a sweep took it), leaves what it has and the node does not (a failed leave, or a join
   * confirmed too late), each through `serialized` and checked again there, so a join or leave of the same
   * connection racing the reconcile wins. Each write has its entry and its `onChange` (webhooks), like any join or leave.
   */
  private async reconcileTopic(topic: string): Promise<void> {
    const owed = this.unsettled.get(topic);
    this.unsettled.delete(topic);
    let stored: ReadonlySet<string>;
    try {
      stored = new Set(await this.options.engine.ownMembers(topic));
    } catch (error) {
      this.options.logger.warn({ err: error, topic }, 'presence reconcile could not read the members: retried when the engine is back');
      this.restore(topic, owed);
      return;
    }
    const local = this.members.get(topic) ?? new Map<string, PresenceMember>();
    const writes: Promise<unknown>[] = [];
    for (const [connectionId, member] of local) {
      if (stored.has(connectionId)) continue;
      const rejoin = this.serialized(topic, connectionId, async () => {
        if (this.members.get(topic)?.has(connectionId) !== true) return;
        const write = await this.options.engine.join(topic, member, this.options.write);
        this.afterWrite(topic, write);
        if (write.outcome !== 'unchanged') this.options.onChange?.({ kind: 'added', topic, connectionId, member });
      });
      writes.push(rejoin.catch((error: unknown) => this.failedReconcile(topic, connectionId, error)));
    }
    for (const connectionId of stored) {
      if (local.has(connectionId)) continue;
      const reason = owed?.get(connectionId) ?? 'disconnected';
      const leave = this.serialized(topic, connectionId, async () => {
        if (this.members.get(topic)?.has(connectionId) === true) return;
        const write = await this.options.engine.leave(topic, connectionId, reason, this.options.write);
        this.afterWrite(topic, write);
        if (write.outcome !== 'unchanged') this.options.onChange?.({ kind: 'removed', topic, connectionId, reason });
      });
      writes.push(leave.catch((error: unknown) => this.failedReconcile(topic, connectionId, error, reason)));
    }
    await Promise.all(writes);
    if (writes.length > 0) this.options.logger.info({ topic, writes: writes.length }, 'presence reconciled');
  }

  private failedReconcile(topic: string, connectionId: string, error: unknown, reason?: LeaveReason): void {
    this.options.logger.warn({ err: error, topic, connectionId }, 'presence reconcile write failed: retried when the engine is back');
    const owed = this.unsettle(topic);
    if (reason !== undefined) owed.set(connectionId, reason);
  }

  private unsettle(topic: string): Map<string, LeaveReason> {
    let owed = this.unsettled.get(topic);
    if (owed === undefined) this.unsettled.set(topic, (owed = new Map()));
    return owed;
  }

  private restore(topic: string, owed: ReadonlyMap<string, LeaveReason> | undefined): void {
    const current = this.unsettle(topic);
    for (const [connectionId, reason] of owed ?? []) if (!current.has(connectionId)) current.set(connectionId, reason);
  }

  private serialized(topic: string, connectionId: string, write: () => Promise<void>): Promise<void> {
    const key = `${topic}\n${connectionId}`;
    const previous = this.tails.get(key) ?? Promise.resolve();
    // The previous write's outcome is its caller's: this one runs after it either way.
    const next = previous.then(write, write);
    const settled = next.catch(() => undefined);
    this.tails.set(key, settled);
    void settled.then(() => {
      if (this.tails.get(key) === settled) this.tails.delete(key);
    });
    return next;
  }

  private track(topic: string, member: PresenceMember, joined: boolean): void {
    let connections = this.members.get(topic);
    if (joined) {
      if (connections === undefined) this.members.set(topic, (connections = new Map()));
      connections.set(member.connectionId, member);
    } else if (connections?.delete(member.connectionId) === true && connections.size === 0) {
      this.members.delete(topic);
    }
  }

  /**
   * A coalesced change owes the topic a stats entry at `flushAt`: one timer per topic, for its latest window
   * (a write in a new window has flushed the previous one already).
   */
  private afterWrite(topic: string, write: PresenceWrite): void {
    const { flushAt } = write;
    if (write.outcome !== 'coalesced') return;
    if (this.options.stats !== undefined) this.options.stats.presenceCoalesced++;
    if (flushAt === undefined || this.closed) return;
    const pending = this.flushTimers.get(topic);
    if (pending !== undefined) {
      if (pending.at >= flushAt) return;
      clearTimeout(pending.timer);
    }
    // One millisecond late on purpose: a timer may fire within the millisecond before `flushAt` by the wall
    // clock, and an early flush writes nothing (the engine's sweep would, much later).
    const timer = setTimeout(() => {
      this.flushTimers.delete(topic);
      this.options.engine.flush(topic, this.options.write).catch((error: unknown) => {
        // Not lost: the topic's next write, or the engine's sweep, flushes it.
        this.options.logger.warn({ err: error, topic }, 'presence flush failed');
      });
    }, Math.max(0, flushAt - this.now()) + 1);
    timer.unref();
    this.flushTimers.set(topic, { timer, at: flushAt });
  }
}
