/** The member lists of the topics subscribed with `presence`: kept from snapshots and events, re-read after a loss. */
import type {
  JoinMessage,
  LeaveMessage,
  PresenceGapMessage,
  PresenceLevel,
  PresenceMessage,
  PresenceRecovery,
  PresenceStatsMessage,
} from '@switchboard/protocol';
import type { ClientContext } from './client-context.js';
import type { TimerHandle } from './clock.js';
import { ClientErrorCode, SwitchboardError } from './errors.js';
import type { JoinEvent, LeaveEvent, MembersChange, PresenceOptions, PresenceSnapshot } from './presence-events.js';
import type { PresencePositions } from './presence-positions.js';
import type { PresenceRequests } from './presence-requests.js';
import { type PresenceEntry, PresenceSet } from './presence-set.js';

/** A subscription that asked for presence, as the member lists see it. */
export interface PresenceHolder {
  readonly options: PresenceOptions<unknown> & { readonly onError?: (error: SwitchboardError) => void };
}

/** A re-read after coalesced updates waits this long after the last one (the storm calmed) ... */
const COALESCED_QUIET_MS = 1000;
/** ... and comes at most this often, and at the latest this long after the first (design §2.3). */
const COALESCED_INTERVAL_MS = 5000;
/** A re-read refused with a retryable code and no `retryAfterMs` is tried again after this. */
const RETRY_MS = 1000;

interface Tracked {
  readonly set: PresenceSet<unknown>;
  /** A snapshot request is on its way; `again`: another re-read is owed after it. */
  reading: boolean;
  again: boolean;
  /** A re-read is owed that no connection could make yet: the next `subscribed` makes it. */
  owed: boolean;
  timer: TimerHandle | undefined;
  firstCoalescedAt: number | undefined;
  lastReadAt: number;
}

/**
 * One {@link PresenceSet} per exact topic subscribed with `presence`. Routes join, leave and coalesced stats
 * entries to it and to the subscriptions' callbacks, and re-reads the list (a `presence` request, the
 * entries meanwhile buffered) when it cannot be trusted: the first subscribe, a `presence_gap`, a failed
 * presence recovery, another epoch, or coalesced updates (debounced). Records each applied `seq` in
 * {@link PresencePositions} for the next resubscribe.
 */
export class PresenceMembers {
  readonly #context: ClientContext;
  readonly #requests: PresenceRequests;
  readonly #positions: PresencePositions;
  readonly #holders: (topic: string) => readonly PresenceHolder[];
  readonly #topics = new Map<string, Tracked>();

  constructor(context: ClientContext, requests: PresenceRequests, positions: PresencePositions, holders: (topic: string) => readonly PresenceHolder[]) {
    this.#context = context;
    this.#requests = requests;
    this.#positions = positions;
    this.#holders = holders;
  }

  /** The set of a followed topic, for `subscription.members`. */
  set(topic: string): PresenceSet<unknown> | undefined {
    return this.#topics.get(topic)?.set;
  }

  /** A subscription asks for presence on `topic`: follow it (once for every holder). */
  follow(topic: string, level: PresenceLevel): void {
    if (this.#topics.has(topic)) return;
    this.#topics.set(topic, { set: new PresenceSet(level), reading: false, again: false, owed: false, timer: undefined, firstCoalescedAt: undefined, lastReadAt: -Infinity });
  }

  /** No subscription asks for presence on `topic` any more. */
  unfollow(topic: string): void {
    const tracked = this.#topics.get(topic);
    if (tracked === undefined) return;
    this.#context.clock.clearTimeout(tracked.timer);
    this.#topics.delete(topic);
    this.#positions.forget(topic);
  }

  /**
   * The broker confirmed a followed topic: the list is current if its presence recovered (or, `existing`,
   * the subscription was already there and the list already read), else it is read.
   */
  subscribed(topic: string, recovery: PresenceRecovery | undefined, existing = false): void {
    const tracked = this.#topics.get(topic);
    if (tracked === undefined) return;
    if ((existing || recovery?.status === 'recovered') && !tracked.set.awaiting && !tracked.owed) return;
    if (existing && tracked.reading) return;
    this.#read(topic, tracked);
  }

  /** A join, leave or coalesced stats entry (live or replayed). */
  receive(entry: JoinMessage | LeaveMessage | PresenceStatsMessage): void {
    const tracked = this.#topics.get(entry.topic);
    if (tracked === undefined) return;
    const outcome = tracked.set.apply(entry as PresenceEntry);
    if (outcome === 'stale') return this.#read(entry.topic, tracked);
    if (outcome === 'dropped') return;
    if (outcome === 'applied') this.#positions.record(entry.topic, tracked.set.position);
    if (entry.op === 'presence_stats') {
      if ((entry.coalesced ?? 0) > 0) this.#readAfterStorm(entry.topic, tracked);
    } else {
      this.#announce(entry);
    }
    if (outcome === 'applied') this.#changed(entry.topic, tracked, entry.op === 'presence_stats' ? 'stats' : entry.op);
  }

  /** Entries up to `seq` may be missing: the list is stale (protocol.md §13.3). */
  receiveGap(message: PresenceGapMessage): void {
    const tracked = this.#topics.get(message.topic);
    if (tracked !== undefined) this.#read(message.topic, tracked);
  }

  /** A `presence` answer, ours or the application's: any snapshot newer than the list replaces it. */
  receiveSnapshot(answer: PresenceMessage): void {
    const tracked = this.#topics.get(answer.topic);
    if (tracked === undefined) return;
    const applied = tracked.set.applySnapshot(answer);
    if (applied === false) return;
    this.#positions.record(answer.topic, tracked.set.position);
    this.#changed(answer.topic, tracked, 'resync');
    if (applied === 'stale') this.#read(answer.topic, tracked);
  }

  /** The client stopped: no more timers. */
  stop(): void {
    for (const topic of Array.from(this.#topics.keys())) this.unfollow(topic);
  }

  #read(topic: string, tracked: Tracked): void {
    tracked.set.awaitSnapshot();
    if (tracked.reading) {
      tracked.again = true;
      return;
    }
    if (this.#context.connection?.welcome === undefined) {
      tracked.owed = true;
      return;
    }
    const clock = this.#context.clock;
    tracked.reading = true;
    tracked.owed = false;
    tracked.lastReadAt = clock.now();
    tracked.firstCoalescedAt = undefined;
    clock.clearTimeout(tracked.timer);
    tracked.timer = undefined;
    this.#requests.read('presence', topic).then(
      () => {
        // The answer reached receiveSnapshot as it arrived, before any entry after it.
        tracked.reading = false;
        if (this.#topics.get(topic) !== tracked) return;
        if (tracked.again) {
          tracked.again = false;
          this.#read(topic, tracked);
        }
      },
      (error: SwitchboardError) => {
        tracked.reading = false;
        tracked.again = false;
        if (this.#topics.get(topic) !== tracked) return;
        // Lost with the connection: the resubscribe's `subscribed` reads again.
        if (error.code === ClientErrorCode.connectionLost || error.code === ClientErrorCode.clientClosed) {
          tracked.owed = true;
          return;
        }
        if (error.retryable) {
          tracked.timer = clock.setTimeout(() => {
            tracked.timer = undefined;
            if (this.#topics.get(topic) === tracked) this.#read(topic, tracked);
          }, error.retryAfterMs ?? RETRY_MS);
          return;
        }
        for (const holder of this.#holders(topic)) {
          this.#context.callSafely(() => (holder.options.onError === undefined ? this.#context.report(error) : holder.options.onError(error)));
        }
      },
    );
  }

  /** Coalesced updates: re-read once the storm calms, at most every 5 s, and at the latest 5 s after the first. */
  #readAfterStorm(topic: string, tracked: Tracked): void {
    const clock = this.#context.clock;
    const now = clock.now();
    tracked.firstCoalescedAt ??= now;
    const due = Math.min(
      Math.max(now + COALESCED_QUIET_MS, tracked.lastReadAt + COALESCED_INTERVAL_MS),
      Math.max(tracked.firstCoalescedAt + COALESCED_INTERVAL_MS, tracked.lastReadAt + COALESCED_INTERVAL_MS),
    );
    clock.clearTimeout(tracked.timer);
    tracked.timer = clock.setTimeout(() => {
      tracked.timer = undefined;
      if (this.#topics.get(topic) === tracked) this.#read(topic, tracked);
    }, due - now);
  }

  #announce(entry: JoinMessage | LeaveMessage): void {
    const base = {
      topic: entry.topic,
      connectionId: entry.connection,
      ...(entry.user === undefined ? {} : { user: entry.user }),
      epoch: entry.epoch,
      offset: entry.offset,
      seq: entry.seq,
    };
    const context = this.#context;
    for (const { options } of this.#holders(entry.topic)) {
      if (entry.op === 'join') {
        // Level `user` sees a user's first connection in only, whatever level the wire carries.
        if (options.onJoin === undefined || (options.presence === 'user' && !entry.first)) continue;
        const event: JoinEvent<unknown> = { ...base, info: entry.info ?? null, first: entry.first };
        context.callSafely(() => options.onJoin!(event));
      } else {
        if (options.onLeave === undefined || (options.presence === 'user' && !entry.last)) continue;
        const event: LeaveEvent = { ...base, last: entry.last, reason: entry.reason };
        context.callSafely(() => options.onLeave!(event));
      }
    }
  }

  #changed(topic: string, tracked: Tracked, cause: MembersChange<unknown>['cause']): void {
    const { set } = tracked;
    const change: MembersChange<unknown> = { topic, members: set.users, anonymous: set.anonymous, counts: set.counts, truncated: set.truncated, cause };
    for (const { options } of this.#holders(topic)) {
      if (options.onMembers !== undefined) this.#context.callSafely(() => options.onMembers!(change));
    }
  }
}

/** A `presence` answer as the application sees it. */
export function toSnapshot<Info>(answer: PresenceMessage): PresenceSnapshot<Info> {
  const data = answer.data as PresenceSnapshot<Info> | undefined;
  return {
    topic: answer.topic,
    epoch: answer.epoch,
    offset: answer.offset,
    seq: answer.seq,
    counts: answer.stats,
    truncated: answer.truncated,
    users: data?.users ?? {},
    anonymous: data?.anonymous ?? {},
  };
}
