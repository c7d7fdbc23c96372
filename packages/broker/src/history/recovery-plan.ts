import type { RecoveryResult } from '@switchboard/protocol';
import type { HistoryResult, Publication, StreamPosition } from '../engine/engine.js';

/** What one replay may carry. */
export interface RecoveryLimits {
  /** Most publications replayed (`MAX_RECOVERY_MESSAGES`; the history read asks for no more). */
  readonly maxMessages: number;
  /** Most bytes the replay may weigh by `weigh`. Omitted: no byte limit. */
  readonly maxBytes?: number;
  /** What a publication weighs against `maxBytes` (its encoded size). Omitted: nothing. */
  readonly weigh?: (publication: Publication) => number;
}

/** Offsets `from`..`to` (inclusive) of `epoch` that recovery cannot give back. */
export interface LostRange {
  readonly epoch: string;
  readonly from: number;
  readonly to: number;
}

/**
 * How to continue one topic's stream from a position, decided once for both recovery paths: a subscribe
 * with `since` (protocol.md §8.2) and the hub's replay after an engine outage (§8.3 `engine_outage`).
 *
 * The one truncation rule: a replay is cut before the first publication past a limit, and a cut replay is
 * not a recovery: `result` is `failed` with `expired`, and the offsets after the cut are `lost`. Loss is
 * never silent; each path announces it in the words it has on the wire:
 * - a subscribe answers with `result`; a `failed` recovery replays nothing (§8.2) and the client resyncs;
 * - the hub, which has no answer to give, replays the cut replay and announces `lost` as an
 *   `engine_outage` gap.
 */
export interface RecoveryPlan {
  /**
   * The verdict in pubsub.v1's words, at the topic's current position: `recovered` exactly when `replay`
   * holds every publication after `since`.
   */
  readonly result: RecoveryResult;
  /** Ascending: every publication missed when recovered, otherwise the longest prefix within the limits. */
  readonly replay: readonly Publication[];
  /** What `replay` weighs by `RecoveryLimits.weigh` (0 without it). */
  readonly replayBytes: number;
  /**
   * Missed offsets not in `replay`, in the current epoch. Absent when nothing is lost, or when `since` is in
   * another epoch (or ahead of the stream): the loss then has no range in this epoch, and deliveries in the
   * new epoch tell clients their positions reset (§8.1).
   */
  readonly lost?: LostRange;
}

/**
 * Plans the recovery of one topic from `since`, given what the engine's `history(topic, { since, limit })`
 * returned. Pure.
 */
export function planRecovery(history: HistoryResult, since: StreamPosition, limits: RecoveryLimits): RecoveryPlan {
  const current = history.position;
  if (!history.recovered) {
    const reason = history.recoveryFailure ?? 'epoch_mismatch';
    const lost = current.epoch === since.epoch && current.offset > since.offset ? since.offset : undefined;
    return failed(reason, current, [], 0, lost);
  }
  const { publications } = history;
  const maxBytes = limits.maxBytes ?? Number.POSITIVE_INFINITY;
  let count = 0;
  let replayBytes = 0;
  for (const publication of publications) {
    if (count >= limits.maxMessages) break;
    const bytes = limits.weigh?.(publication) ?? 0;
    if (replayBytes + bytes > maxBytes) break;
    replayBytes += bytes;
    count++;
  }
  const replay = count === publications.length ? publications : publications.slice(0, count);
  const reached = replay.at(-1)?.offset ?? since.offset;
  if (reached >= current.offset) {
    return { result: { status: 'recovered', epoch: current.epoch, offset: current.offset }, replay, replayBytes };
  }
  return failed('expired', current, replay, replayBytes, reached);
}

/**
 * The plan for a topic whose namespace turns recovery off: nothing is replayed, whatever history holds, and
 * the answer is `failed` with `no_history` at the current position, so the client resyncs. Pure.
 */
export function recoveryTurnedOff(history: HistoryResult): RecoveryPlan {
  return failed('no_history', history.position, [], 0, undefined);
}

/** Whether `publication` is at or before `position` in the same epoch: a replay or an announcement covers it. */
export function coveredBy(publication: StreamPosition, position: StreamPosition): boolean {
  return publication.epoch === position.epoch && publication.offset <= position.offset;
}

function failed(
  reason: Extract<RecoveryResult, { status: 'failed' }>['reason'],
  current: StreamPosition,
  replay: readonly Publication[],
  replayBytes: number,
  lostAfter: number | undefined,
): RecoveryPlan {
  const result: RecoveryResult = { status: 'failed', reason, epoch: current.epoch, offset: current.offset };
  if (lostAfter === undefined) return { result, replay, replayBytes };
  return { result, replay, replayBytes, lost: { epoch: current.epoch, from: lostAfter + 1, to: current.offset } };
}
