import {
  type ErrorMessage,
  type PresenceLevel,
  type LatestResult,
  type RecoveryResult,
  type SubscribeMessage,
  type SubscribedMessage,
  type UnsubscribeMessage,
  type UnsubscribedMessage,
  isRetryableError,
  parsePattern,
  parseTopic,
  reservedRootAllows,
  segmentsMatch,
} from '@switchboard/protocol';
import type { PositionTracker } from './positions.js';
import type { PresencePositions, PresenceSince } from './presence-positions.js';

/** What the registry asks of the client beyond ids and positions. */
export interface RegistryOptions<Local> {
  /** The presence level a pattern's `subscribe` asks for, from the subscriptions holding it. */
  readonly presenceLevel?: (locals: ReadonlySet<Local>) => PresenceLevel | undefined;
  /** Presence positions, sent as `since[topic].seq` when a pattern asks for presence. */
  readonly presencePositions?: PresencePositions;
  /** The user-topic prefix (protocol.md §14.2): patterns starting with a wildcard never match under it. */
  readonly reservedRoot?: () => string | undefined;
}

/**
 * Where one pattern stands with the broker on the current connection:
 * - `idle`: nothing sent (not connected, or a retryable failure waits for a retry);
 * - `subscribing`: `subscribe` sent, no answer yet;
 * - `active`: `subscribed` arrived;
 * - `unsubscribing`: `unsubscribe` sent, no answer yet.
 */
export type WireState = 'idle' | 'subscribing' | 'active' | 'unsubscribing';

/** Something the client must do after a registry call. */
export type RegistryEffect<Local> =
  /** Send this request (at control priority). */
  | { readonly type: 'send'; readonly message: SubscribeMessage | UnsubscribeMessage }
  /** The broker confirmed the pattern: these subscriptions are active. `recovery` as in protocol.md §8.2. */
  | {
      readonly type: 'subscribed';
      readonly pattern: string;
      readonly locals: readonly Local[];
      readonly recovery?: Readonly<Record<string, RecoveryResult>>;
      /** The topic's latest publication follows, or none is kept (protocol.md §8.6). */
      readonly latest?: LatestResult;
      /** The broker had confirmed the pattern before: nothing new was subscribed. */
      readonly existing?: true;
    }
  /**
   * The broker refused the pattern. Not retryable: the subscriptions are ended. Retryable (`unavailable`,
   * `internal`): they stay and the client calls {@link SubscriptionRegistry.retry} later.
   */
  | {
      readonly type: 'failed';
      readonly pattern: string;
      readonly locals: readonly Local[];
      readonly error: Pick<ErrorMessage, 'code' | 'message' | 'retryAfterMs'>;
      readonly retryable: boolean;
    }
  /** The broker ended the pattern on its own (`unsubscribed` without `id`): the subscriptions are over. */
  | { readonly type: 'ended'; readonly pattern: string; readonly locals: readonly Local[]; readonly code: string | undefined };

interface Entry<Local> {
  readonly pattern: string;
  readonly segments: readonly string[];
  readonly locals: Set<Local>;
  wire: WireState;
  /** The open request: `subscribe` while subscribing, `unsubscribe` while unsubscribing. */
  requestId: number | undefined;
  /** The presence level the last `subscribe` asked for. */
  level: PresenceLevel | undefined;
}

/**
 * Subscription bookkeeping, independent of sockets. The application may subscribe the same pattern many
 * times; the broker sees one subscription per pattern (it answers `already_subscribed` otherwise), counted
 * by the local subscriptions that hold it. Every pattern with subscriptions is subscribed again after a
 * reconnect, with `since` positions for the topics it matches (protocol.md §8.2), each topic asked of one
 * pattern only so the broker does not replay it twice.
 *
 * Request ids come from the injected `nextId`; the caller sends what the effects say and feeds answers back.
 */
export class SubscriptionRegistry<Local> {
  readonly #entries = new Map<string, Entry<Local>>();
  readonly #byLocal = new Map<Local, Entry<Local>>();
  readonly #requests = new Map<number, Entry<Local>>();
  readonly #nextId: () => number;
  readonly #positions: PositionTracker;
  readonly #options: RegistryOptions<Local>;
  #connected = false;

  constructor(nextId: () => number, positions: PositionTracker, options: RegistryOptions<Local> = {}) {
    this.#nextId = nextId;
    this.#positions = positions;
    this.#options = options;
  }

  /** Patterns held by at least one subscription, or still being unsubscribed. */
  get size(): number {
    return this.#entries.size;
  }

  /** The broker-side state of a pattern, or `undefined` when the registry does not know it. */
  state(pattern: string): WireState | undefined {
    return this.#entries.get(pattern)?.wire;
  }

  /**
   * Adds a subscription. Effects: a `subscribe` to send when the pattern is new and the client is connected;
   * `subscribed` at once when the broker already confirmed this pattern for another subscription.
   *
   * @throws TypeError for an invalid pattern (the caller validates first and reports `invalid_topic`), or a
   *   local that is already registered.
   */
  add(local: Local, pattern: string): RegistryEffect<Local>[] {
    if (this.#byLocal.has(local)) throw new TypeError('this subscription is already registered');
    let entry = this.#entries.get(pattern);
    if (entry === undefined) {
      const parsed = parsePattern(pattern);
      if (!parsed.ok) throw new TypeError(parsed.error.message);
      entry = { pattern, segments: parsed.value.segments, locals: new Set(), wire: 'idle', requestId: undefined, level: undefined };
      this.#entries.set(pattern, entry);
    }
    entry.locals.add(local);
    this.#byLocal.set(local, entry);
    if (entry.wire === 'active') {
      // A wider presence level than the broker was asked for: subscribe again with it (the unsubscribe's
      // answer resubscribes, recovering with `since` what arrived in between).
      if (this.#wantsWiderLevel(entry)) return this.#unsubscribe(entry);
      return [{ type: 'subscribed', pattern, locals: [local], existing: true }];
    }
    if (entry.wire === 'idle' && this.#connected) return this.#subscribe(entry);
    // subscribing: the answer will confirm it; unsubscribing: the answer triggers a new subscribe.
    return [];
  }

  /**
   * Removes a subscription. Effects: an `unsubscribe` to send when it was the pattern's last holder and the
   * broker has the pattern. Unknown locals are ignored (unsubscribing twice is harmless).
   */
  remove(local: Local): RegistryEffect<Local>[] {
    const entry = this.#byLocal.get(local);
    if (entry === undefined) return [];
    this.#byLocal.delete(local);
    entry.locals.delete(local);
    if (entry.locals.size > 0) return [];
    if (entry.wire === 'active') return this.#unsubscribe(entry);
    if (entry.wire === 'idle') this.#entries.delete(entry.pattern);
    // subscribing: unsubscribed when the answer arrives; unsubscribing: already on its way.
    return [];
  }

  /** The connection is ready (the broker's `welcome` arrived): subscribe every held pattern. */
  open(): RegistryEffect<Local>[] {
    this.#connected = true;
    const effects: RegistryEffect<Local>[] = [];
    for (const entry of this.#entries.values()) {
      if (entry.locals.size > 0 && entry.wire === 'idle') effects.push(...this.#subscribe(entry));
    }
    return effects;
  }

  /** The connection ended: the broker forgot every subscription and every open request. */
  close(): void {
    this.#connected = false;
    this.#requests.clear();
    for (const [pattern, entry] of this.#entries) {
      entry.wire = 'idle';
      entry.requestId = undefined;
      if (entry.locals.size === 0) this.#entries.delete(pattern);
    }
  }

  /** Subscribes a pattern again after a retryable failure (if it is still held and the client connected). */
  retry(pattern: string): RegistryEffect<Local>[] {
    const entry = this.#entries.get(pattern);
    if (entry === undefined || entry.wire !== 'idle' || entry.locals.size === 0 || !this.#connected) return [];
    return this.#subscribe(entry);
  }

  /** Feeds a `subscribed` answer. Answers to requests the registry did not send are ignored. */
  receiveSubscribed(message: SubscribedMessage): RegistryEffect<Local>[] {
    const entry = this.#takeRequest(message.id, 'subscribing');
    if (entry === undefined) return [];
    entry.wire = 'active';
    if (entry.locals.size === 0) return this.#unsubscribe(entry);
    const effect: RegistryEffect<Local> = {
      type: 'subscribed',
      pattern: entry.pattern,
      locals: Array.from(entry.locals),
      ...(message.recovery === undefined ? {} : { recovery: message.recovery }),
      ...(message.latest === undefined ? {} : { latest: message.latest }),
    };
    // Someone asked for a wider presence level while the subscribe was on its way.
    return this.#wantsWiderLevel(entry) ? [effect, ...this.#unsubscribe(entry)] : [effect];
  }

  /**
   * Feeds an `unsubscribed`: the answer to our `unsubscribe` (with `id`), or the broker ending a pattern on
   * its own (without `id`, protocol.md §5.2).
   */
  receiveUnsubscribed(message: UnsubscribedMessage): RegistryEffect<Local>[] {
    if (message.id !== undefined) {
      const entry = this.#takeRequest(message.id, 'unsubscribing');
      return entry === undefined ? [] : this.#unsubscribed(entry);
    }
    const entry = this.#entries.get(message.pattern);
    if (entry === undefined || entry.wire === 'idle') return [];
    if (entry.requestId !== undefined) this.#requests.delete(entry.requestId);
    const locals = this.#drop(entry);
    return locals.length === 0 ? [] : [{ type: 'ended', pattern: entry.pattern, locals, code: message.code }];
  }

  /**
   * Feeds an `error` answering one of the registry's requests. Returns `undefined` when the id is not one
   * of them (the caller routes it elsewhere).
   */
  receiveError(message: ErrorMessage & { id: number }): RegistryEffect<Local>[] | undefined {
    const entry = this.#requests.get(message.id);
    if (entry === undefined) return undefined;
    this.#requests.delete(message.id);
    entry.requestId = undefined;
    if (entry.wire === 'unsubscribing') {
      // not_subscribed (or anything else): the broker does not hold the pattern, which is what we wanted.
      return this.#unsubscribed(entry);
    }
    if (message.code === 'already_subscribed') {
      // The broker holds the pattern already, which is the outcome we asked for (the registry sends one
      // subscribe per pattern and connection, so this only follows a broker-side slip).
      this.#requests.set(message.id, entry);
      return this.receiveSubscribed({ op: 'subscribed', id: message.id, pattern: entry.pattern });
    }
    entry.wire = 'idle';
    const error = { code: message.code, message: message.message, ...(message.retryAfterMs === undefined ? {} : { retryAfterMs: message.retryAfterMs }) };
    const retryable = isRetryableError(message.code as Parameters<typeof isRetryableError>[0]);
    if (retryable && entry.locals.size > 0) {
      return [{ type: 'failed', pattern: entry.pattern, locals: Array.from(entry.locals), error, retryable }];
    }
    const locals = this.#drop(entry);
    return locals.length === 0 ? [] : [{ type: 'failed', pattern: entry.pattern, locals, error, retryable }];
  }

  /**
   * Local subscriptions whose pattern matches `topic` (protocol.md §5.2: the client routes deliveries),
   * under the reserved-root rule (§14.2).
   */
  match(topic: string): Local[] {
    const parsed = parseTopic(topic);
    if (!parsed.ok) return [];
    const result: Local[] = [];
    for (const entry of this.#entries.values()) {
      if (entry.locals.size > 0 && this.#matches(entry.segments, parsed.value.segments)) result.push(...entry.locals);
    }
    return result;
  }

  /** Whether any held pattern matches `topic` (positions of other topics can be forgotten). */
  matchesAny(topic: string): boolean {
    return this.match(topic).length > 0;
  }

  #matches(pattern: readonly string[], topic: readonly string[]): boolean {
    const root = this.#options.reservedRoot?.();
    return segmentsMatch(pattern, topic) && (root === undefined || reservedRootAllows(pattern[0], topic[0], [root]));
  }

  #subscribe(entry: Entry<Local>): RegistryEffect<Local>[] {
    const id = this.#nextId();
    entry.wire = 'subscribing';
    entry.requestId = id;
    this.#requests.set(id, entry);
    const presence = this.#options.presenceLevel?.(entry.locals);
    entry.level = presence;
    const since = this.#sinceFor(entry, presence !== undefined);
    const message: SubscribeMessage = {
      op: 'subscribe',
      id,
      pattern: entry.pattern,
      ...(since === undefined ? {} : { since }),
      ...(presence === undefined ? {} : { presence }),
    };
    return [{ type: 'send', message }];
  }

  #wantsWiderLevel(entry: Entry<Local>): boolean {
    const wanted = this.#options.presenceLevel?.(entry.locals);
    return wanted !== undefined && wanted !== entry.level && entry.level !== 'connection';
  }

  #unsubscribe(entry: Entry<Local>): RegistryEffect<Local>[] {
    const id = this.#nextId();
    entry.wire = 'unsubscribing';
    entry.requestId = id;
    this.#requests.set(id, entry);
    return [{ type: 'send', message: { op: 'unsubscribe', id, pattern: entry.pattern } }];
  }

  #unsubscribed(entry: Entry<Local>): RegistryEffect<Local>[] {
    entry.wire = 'idle';
    entry.requestId = undefined;
    // Someone subscribed the pattern again while the unsubscribe was on its way.
    if (entry.locals.size > 0) return this.#connected ? this.#subscribe(entry) : [];
    this.#entries.delete(entry.pattern);
    return [];
  }

  /**
   * Positions to recover for a pattern being subscribed: the topics it matches that no other pattern
   * already subscribed (or being subscribed) on this connection covers.
   */
  #sinceFor(entry: Entry<Local>, presence: boolean): Record<string, PresenceSince> | undefined {
    const presencePositions = this.#options.presencePositions;
    if (presence && presencePositions !== undefined) {
      // An exact topic with presence: its message position and its presence seq (protocol.md §13.4).
      if (this.#coveredElsewhere(entry, entry.segments)) return undefined;
      const since = presencePositions.since(entry.pattern, this.#positions.position(entry.pattern));
      return since === undefined ? undefined : { [entry.pattern]: since };
    }
    let since: Record<string, PresenceSince> | undefined;
    for (const [topic, position] of this.#positions.positions()) {
      const parsed = parseTopic(topic);
      if (!parsed.ok || !this.#matches(entry.segments, parsed.value.segments)) continue;
      if (this.#coveredElsewhere(entry, parsed.value.segments)) continue;
      since ??= {};
      since[topic] = { offset: position.offset, epoch: position.epoch };
    }
    return since;
  }

  #coveredElsewhere(entry: Entry<Local>, topic: readonly string[]): boolean {
    for (const other of this.#entries.values()) {
      if (other === entry) continue;
      if ((other.wire === 'subscribing' || other.wire === 'active') && this.#matches(other.segments, topic)) return true;
    }
    return false;
  }

  #takeRequest(id: number, expected: WireState): Entry<Local> | undefined {
    const entry = this.#requests.get(id);
    if (entry === undefined || entry.wire !== expected) return undefined;
    this.#requests.delete(id);
    entry.requestId = undefined;
    return entry;
  }

  /** Forgets a pattern and every subscription holding it; returns those subscriptions. */
  #drop(entry: Entry<Local>): Local[] {
    const locals = Array.from(entry.locals);
    for (const local of locals) this.#byLocal.delete(local);
    entry.locals.clear();
    entry.wire = 'idle';
    entry.requestId = undefined;
    this.#entries.delete(entry.pattern);
    return locals;
  }
}
