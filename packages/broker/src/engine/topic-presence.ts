import { Deque } from '../collections/deque.js';
import type {
  HistoryRetention,
  LeaveReason,
  PresenceCounts,
  PresenceEntry,
  PresenceHistory,
  PresenceMember,
  PresenceOptions,
  PresencePosition,
  PresenceWrite,
  StreamPosition,
} from './engine.js';

/** The length of the rate cap's window (design §2.3): `eventRate` entries per this many milliseconds. */
export const presenceWindowMs = 1000;

/** A join or leave applied, with the entries it wrote (a pending `stats` entry may precede its own). */
export interface PresenceChange extends PresenceWrite {
  readonly entries: readonly PresenceEntry[];
}

interface Held {
  readonly member: PresenceMember;
  readonly node: string;
}

interface Retained {
  readonly entry: PresenceEntry;
  readonly expiresAt: number;
}

/**
 * One topic's presence, pure (time and the topic's stream position come in as arguments), following the
 * rules the Redis scripts will (docs/design/presence.md §3.3): members per node, user counts, `seq`, the
 * retained entries with a floor, and the rate window. Members outlive epochs; `seq`, the entries and the window
 * belong to one epoch and are reset when the topic's stream starts another (`adopt`), so positions of two
 * epochs never mix.
 */
export class TopicPresence {
  readonly topic: string;
  private epoch: string | undefined;
  private seq = 0;
  /** Every entry with a `seq` at or above this one is retained (or not yet written). */
  private floor = 1;
  private readonly retained = new Deque<Retained>();
  private maxRetained = 0;
  private windowStart = Number.NEGATIVE_INFINITY;
  private windowCount = 0;
  private coalesced = 0;
  private readonly members = new Map<string, Held>();
  private readonly byNode = new Map<string, Set<string>>();
  /** Members per authenticated user; its size is the distinct user count. */
  private readonly users = new Map<string, number>();
  private anonymous = 0;

  constructor(topic: string) {
    this.topic = topic;
  }

  get counts(): PresenceCounts {
    return { connections: this.members.size, users: this.users.size, anonymous: this.anonymous };
  }

  /** A coalesced `stats` entry is owed (written by `flush` once the window ends). */
  get pendingFlush(): boolean {
    return this.coalesced > 0;
  }

  /** Expiry of the newest retained entry, or undefined when none is retained. */
  get retainedUntil(): number | undefined {
    return this.retained.peekBack()?.expiresAt;
  }

  /** Nodes that hold members here. */
  get nodes(): readonly string[] {
    return [...this.byNode.keys()];
  }

  position(anchor: StreamPosition): PresencePosition {
    this.adopt(anchor.epoch);
    return { offset: anchor.offset, epoch: anchor.epoch, seq: this.seq };
  }

  join(node: string, member: PresenceMember, anchor: StreamPosition, options: PresenceOptions, now: number): PresenceChange {
    this.adopt(anchor.epoch);
    if (this.members.has(member.connectionId)) return this.unchanged(anchor);
    const pending = this.roll(anchor, options, now);
    this.members.set(member.connectionId, { member, node });
    let nodeMembers = this.byNode.get(node);
    if (nodeMembers === undefined) this.byNode.set(node, (nodeMembers = new Set()));
    nodeMembers.add(member.connectionId);
    let first = true;
    if (member.user === undefined) this.anonymous++;
    else {
      const count = (this.users.get(member.user) ?? 0) + 1;
      this.users.set(member.user, count);
      first = count === 1;
    }
    return this.emit(anchor, options, now, pending, (position) => ({ ...position, topic: this.topic, time: now, kind: 'join', member, first }));
  }

  /** Removes `node`'s member `connectionId`; a member of another node, or none, is `unchanged`. */
  leave(node: string, connectionId: string, reason: LeaveReason, anchor: StreamPosition, options: PresenceOptions, now: number): PresenceChange {
    this.adopt(anchor.epoch);
    const held = this.members.get(connectionId);
    if (held === undefined || held.node !== node) return this.unchanged(anchor);
    const pending = this.roll(anchor, options, now);
    this.members.delete(connectionId);
    const nodeMembers = this.byNode.get(node);
    nodeMembers?.delete(connectionId);
    if (nodeMembers?.size === 0) this.byNode.delete(node);
    const { member } = held;
    let last = true;
    if (member.user === undefined) this.anonymous--;
    else {
      const count = (this.users.get(member.user) ?? 1) - 1;
      if (count === 0) this.users.delete(member.user);
      else this.users.set(member.user, count);
      last = count === 0;
    }
    return this.emit(anchor, options, now, pending, (position) => ({ ...position, topic: this.topic, time: now, kind: 'leave', member, last, reason }));
  }

  /** Every member of `node` leaves with `reason` (a sweep, or a clean unregister), each through the rate cap. */
  leaveNode(node: string, reason: LeaveReason, anchor: StreamPosition, options: PresenceOptions, now: number): PresenceEntry[] {
    const entries: PresenceEntry[] = [];
    for (const connectionId of [...(this.byNode.get(node) ?? [])]) {
      entries.push(...this.leave(node, connectionId, reason, anchor, options, now).entries);
    }
    return entries;
  }

  /** The pending `stats` entry, if one is owed and its window has ended; else none. */
  flush(anchor: StreamPosition, options: PresenceOptions, now: number): PresenceEntry[] {
    this.adopt(anchor.epoch);
    if (this.coalesced === 0 || now < this.windowStart + presenceWindowMs) return [];
    return [this.flushEntry(anchor, options.history, now)];
  }

  memberList(): readonly PresenceMember[] {
    return [...this.members.values()].map((held) => held.member);
  }

  /** The connection ids `node` holds here. */
  membersOf(node: string): readonly string[] {
    return [...(this.byNode.get(node) ?? [])];
  }

  /** The entries after `since.seq`, if the stream reaches back to it in this epoch. */
  since(anchor: StreamPosition, since: { readonly epoch: string; readonly seq: number }, limit: number, now: number): PresenceHistory {
    const position = this.position(anchor);
    this.trim(now);
    const samePositionSpace = since.epoch === position.epoch && Number.isSafeInteger(since.seq) && since.seq >= 0 && since.seq <= this.seq;
    if (!samePositionSpace) return { entries: [], position, recovered: false, recoveryFailure: 'epoch_mismatch' };
    if (since.seq + 1 < this.floor) return { entries: [], position, recovered: false, recoveryFailure: 'expired' };
    const entries: PresenceEntry[] = [];
    for (let index = 0; index < this.retained.length && entries.length < limit; index++) {
      const { entry } = this.retained.at(index) as Retained;
      if (entry.seq > since.seq) entries.push(entry);
    }
    return { entries, position, recovered: true };
  }

  /** Drops entries beyond the size limit or past their TTL, oldest first, raising the floor past them. */
  trim(now: number): void {
    for (let oldest = this.retained.peekFront(); oldest !== undefined; oldest = this.retained.peekFront()) {
      if (this.retained.length <= this.maxRetained && oldest.expiresAt > now) break;
      this.retained.shift();
      this.floor = Math.max(this.floor, oldest.entry.seq + 1);
    }
  }

  /** A new epoch of the topic's stream: `seq`, entries and the window start over; members stay. */
  private adopt(epoch: string): void {
    if (this.epoch === epoch) return;
    this.epoch = epoch;
    this.seq = 0;
    this.floor = 1;
    while (this.retained.length > 0) this.retained.shift();
    this.windowStart = Number.NEGATIVE_INFINITY;
    this.windowCount = 0;
    this.coalesced = 0;
  }

  private unchanged(anchor: StreamPosition): PresenceChange {
    return { outcome: 'unchanged', position: this.position(anchor), entries: [] };
  }

  /**
   * A change in a new window first flushes the old one's pending `stats` entry, with the counters from before
   * the change, so that they are exactly what its `seq` reflects (as the Redis scripts do).
   */
  private roll(anchor: StreamPosition, options: PresenceOptions, now: number): PresenceEntry[] {
    if (now < this.windowStart + presenceWindowMs) return [];
    const entries = this.coalesced > 0 ? [this.flushEntry(anchor, options.history, now)] : [];
    this.windowStart = now;
    this.windowCount = 0;
    return entries;
  }

  /** The rate cap (design §2.3), in the window `roll` opened. */
  private emit(
    anchor: StreamPosition,
    options: PresenceOptions,
    now: number,
    entries: PresenceEntry[],
    make: (position: PresencePosition) => PresenceEntry,
  ): PresenceChange {
    if (options.eventRate > 0 && this.windowCount >= options.eventRate) {
      this.coalesced++;
      return { outcome: 'coalesced', position: this.position(anchor), flushAt: this.windowStart + presenceWindowMs, entries };
    }
    this.windowCount++;
    const entry = this.append(make({ offset: anchor.offset, epoch: anchor.epoch, seq: this.seq + 1 }), options.history, now);
    entries.push(entry);
    return { outcome: 'written', position: { offset: entry.offset, epoch: entry.epoch, seq: entry.seq }, entries };
  }

  private flushEntry(anchor: StreamPosition, retention: HistoryRetention, now: number): PresenceEntry {
    const coalesced = this.coalesced;
    this.coalesced = 0;
    const position = { offset: anchor.offset, epoch: anchor.epoch, seq: this.seq + 1 };
    return this.append({ ...position, topic: this.topic, time: now, kind: 'stats', counts: this.counts, coalesced }, retention, now);
  }

  private append(entry: PresenceEntry, retention: HistoryRetention, now: number): PresenceEntry {
    this.seq = entry.seq;
    this.maxRetained = retention.size;
    if (retention.size > 0) this.retained.push({ entry, expiresAt: now + retention.ttlMs });
    else this.floor = entry.seq + 1;
    this.trim(now);
    return entry;
  }
}
