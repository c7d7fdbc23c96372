import type { PresenceLevel, PresenceRecovery, RecoveryResult } from '@switchboard/protocol';
import type { HistoryResult, PresenceHistory, StreamPosition } from '../engine/engine.js';
import { type ItemPosition, type StreamItem, isPresenceEntry, mergeStream, visibleAt } from './stream-items.js';

export { coveredBy } from './stream-items.js';

/** What one replay may carry. */
export interface RecoveryLimits {
  /** Most publications replayed (`MAX_RECOVERY_MESSAGES`; the history read asks for no more). */
  readonly maxMessages: number;
  /** Most bytes the replay may weigh by `weigh`. Omitted: no byte limit. */
  readonly maxBytes?: number;
  /** What an item weighs against `maxBytes` (its encoded size). Omitted: nothing. */
  readonly weigh?: (item: StreamItem) => number;
  /** The subscription's presence level: entries it does not get are skipped (never weighed). @default 'connection' */
  readonly level?: PresenceLevel;
}

/** Offsets `from`..`to` (inclusive) of `epoch` that recovery cannot give back. */
export interface LostRange {
  readonly epoch: string;
  readonly from: number;
  readonly to: number;
}

/** A history read, with the presence entries when the reader asked for them (`since.seq`). */
export type RecoveryRead = HistoryResult & { readonly presence?: PresenceHistory };

/**
 * How to continue one topic's stream from a position, decided once for both recovery paths: a subscribe
 * with `since` (protocol.md §8.2) and the hub's replay after an engine outage (§8.3 `engine_outage`).
 *
 * The one truncation rule: a replay is cut before the first item past a limit, and a cut replay is not a
 * recovery: `result` is `failed` with `expired`, and the offsets after the cut are `lost`. Loss is never
 * silent; each path announces it in the words it has on the wire:
 * - a subscribe answers with `result`; a `failed` recovery replays nothing (§8.2) and the client resyncs;
 * - the hub, which has no answer to give, replays the cut replay and announces `lost` as an
 *   `engine_outage` gap.
 *
 * Presence (§13.4, with `since.seq`) is its own verdict, `result.presence`, over the same merged replay: the
 * entries sit between the publications by `(offset, seq)` and share the byte budget, yet presence may recover
 * while messages fail and the other way round; only another epoch fails both.
 */
export interface RecoveryPlan {
  /**
   * The verdict in pubsub.v1's words, at the topic's current position: `recovered` exactly when `replay`
   * holds every publication after `since`; `presence` when `since` had `seq`.
   */
  readonly result: RecoveryResult;
  /**
   * In the topic's order: every publication (and presence entry) missed when recovered, otherwise the longest
   * prefix within the limits. Entries the level hides are left out.
   */
  readonly replay: readonly StreamItem[];
  /** What `replay` weighs by `RecoveryLimits.weigh` (0 without it). */
  readonly replayBytes: number;
  /**
   * Missed offsets not in `replay`, in the current epoch. Absent when nothing is lost, or when `since` is in
   * another epoch (or ahead of the stream): the loss then has no range in this epoch, and deliveries in the
   * new epoch tell clients their positions reset (§8.1).
   */
  readonly lost?: LostRange;
  /** Presence was asked for and not recovered: entries up to this position may be missing (`presence_gap`). */
  readonly presenceLost?: { readonly epoch: string; readonly seq: number };
}

/**
 * Plans the recovery of one topic from `since`, given what the engine's `history(topic, { since, limit })`
 * returned (or its presence `history`, with `since.seq` and the entries after it). Pure.
 */
export function planRecovery(history: RecoveryRead, since: ItemPosition, limits: RecoveryLimits): RecoveryPlan {
  const current = history.position;
  const presence = since.seq === undefined ? undefined : history.presence;
  const entries = presence?.recovered === true ? presence.entries : [];
  const candidates = mergeStream(history.recovered ? history.publications : [], entries);
  const level = limits.level ?? 'connection';
  const maxBytes = limits.maxBytes ?? Number.POSITIVE_INFINITY;
  const replay: StreamItem[] = [];
  let replayBytes = 0;
  let publications = 0;
  let reachedOffset = since.offset;
  let reachedSeq = since.seq ?? 0;
  for (const item of candidates) {
    const entry = isPresenceEntry(item) ? item : undefined;
    if (entry !== undefined && !visibleAt(entry, level)) {
      reachedSeq = entry.seq;
      continue;
    }
    if (entry === undefined && publications >= limits.maxMessages) break;
    const bytes = limits.weigh?.(item) ?? 0;
    if (replayBytes + bytes > maxBytes) break;
    replayBytes += bytes;
    replay.push(item);
    if (entry === undefined) {
      publications++;
      reachedOffset = item.offset;
    } else reachedSeq = entry.seq;
  }
  // A whole replay of publications only is handed back as read, not copied.
  const replayed = entries.length === 0 && history.recovered && replay.length === history.publications.length ? history.publications : replay;
  const plan = publicationVerdict(history, since, reachedOffset);
  if (presence === undefined) return { ...plan, replay: replayed, replayBytes };
  const presenceResult = presenceVerdict(presence, reachedSeq);
  return {
    ...plan,
    result: { ...plan.result, presence: presenceResult },
    replay: replayed,
    replayBytes,
    ...(presenceResult.status === 'recovered' ? {} : { presenceLost: { epoch: presence.position.epoch, seq: presence.position.seq } }),
  };
}

/**
 * The plan for a topic whose namespace turns recovery off: nothing is replayed, whatever history holds, and
 * the answer is `failed` with `no_history` at the current position (presence too, when asked), so the client
 * resyncs. Pure.
 */
export function recoveryTurnedOff(history: RecoveryRead, presenceSeq?: number): RecoveryPlan {
  const result: RecoveryResult = { status: 'failed', reason: 'no_history', epoch: history.position.epoch, offset: history.position.offset };
  if (presenceSeq === undefined) return { result, replay: [], replayBytes: 0 };
  const seq = history.presence?.position.seq ?? 0;
  return { result: { ...result, presence: { status: 'failed', reason: 'no_history', seq } }, replay: [], replayBytes: 0, presenceLost: { epoch: history.position.epoch, seq } };
}

function publicationVerdict(history: HistoryResult, since: StreamPosition, reached: number): { result: RecoveryResult; lost?: LostRange } {
  const current = history.position;
  if (!history.recovered) {
    const reason = history.recoveryFailure ?? 'epoch_mismatch';
    const lost = current.epoch === since.epoch && current.offset > since.offset ? since.offset : undefined;
    return failed(reason, current, lost);
  }
  if (reached >= current.offset) return { result: { status: 'recovered', epoch: current.epoch, offset: current.offset } };
  return failed('expired', current, reached);
}

function presenceVerdict(presence: PresenceHistory, reached: number): PresenceRecovery {
  const { seq } = presence.position;
  if (!presence.recovered) return { status: 'failed', reason: presence.recoveryFailure ?? 'epoch_mismatch', seq };
  // Entries past the replay's cut, or past what one read returns (`limit`), are more than one replay may carry.
  return reached >= seq ? { status: 'recovered', seq } : { status: 'failed', reason: 'expired', seq };
}

function failed(
  reason: Extract<RecoveryResult, { status: 'failed' }>['reason'],
  current: StreamPosition,
  lostAfter: number | undefined,
): { result: RecoveryResult; lost?: LostRange } {
  const result: RecoveryResult = { status: 'failed', reason, epoch: current.epoch, offset: current.offset };
  if (lostAfter === undefined) return { result };
  return { result, lost: { epoch: current.epoch, from: lostAfter + 1, to: current.offset } };
}
