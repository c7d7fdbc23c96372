import { appendMember } from './encode.js';
import type { Priority } from './priorities.js';
import type { RecoveryFailureReason } from './reasons.js';

/**
 * The JSON answer of the broker's `GET /history` (operations.md): a topic's position, and for a request
 * with `sinceOffset`/`sinceEpoch` the outcome of recovering from it (as `subscribed.recovery`,
 * protocol.md §8.2), followed by the publications. Payloads are spliced in as the JSON text they are
 * stored as; bytes travel as base64 in `dataBase64`, because the answer is JSON.
 */

/** The head of the answer, written in this order: `topic`, `epoch`, `offset`, then `recovered` and `reason`. */
export interface HistoryAnswerHead {
  readonly topic: string;
  readonly epoch: string;
  readonly offset: number;
  /** Only for a request with `since…`: whether everything after that position is in `publications`. */
  readonly recovered?: boolean;
  /** Only when `recovered` is false. */
  readonly reason?: RecoveryFailureReason;
}

/** A stored publication's fields, written in this order before its data. */
export interface HistoryEntry {
  readonly offset: number;
  readonly epoch: string;
  readonly priority: Priority;
  /** Milliseconds since the Unix epoch, when the broker accepted the publish. */
  readonly time: number;
}

/** A publication's data, already encoded: JSON text as stored, or bytes as base64 (which needs no JSON escaping). */
export type EncodedHistoryData = { readonly json: string } | { readonly base64: string };

/** Encodes the whole answer; `dataOf` gives each publication's data in the form it is stored in. */
export function encodeHistoryAnswer<P extends HistoryEntry>(
  head: HistoryAnswerHead,
  publications: readonly P[],
  dataOf: (publication: P) => EncodedHistoryData,
): string {
  const { topic, epoch, offset, recovered, reason } = head;
  const headJson = JSON.stringify({
    topic,
    epoch,
    offset,
    ...(recovered === undefined ? {} : { recovered }),
    ...(reason === undefined ? {} : { reason }),
  });
  const entries = publications.map((publication) => encodeHistoryEntry(publication, dataOf(publication)));
  return appendMember(headJson, 'publications', `[${entries.join(',')}]`);
}

function encodeHistoryEntry(entry: HistoryEntry, data: EncodedHistoryData): string {
  const { offset, epoch, priority, time } = entry;
  const headJson = JSON.stringify({ offset, epoch, priority, time });
  return 'json' in data ? appendMember(headJson, 'data', data.json) : appendMember(headJson, 'dataBase64', `"${data.base64}"`);
}
