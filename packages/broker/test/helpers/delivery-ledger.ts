/**
 * The delivery ledger of the fault tests (issue 13): from what publishers had acknowledged and what each
 * subscriber's application saw, in order, it counts for every acknowledged publication and every subscriber
 * whose subscription covers its topic whether it arrived exactly once, in publisher order, or was announced
 * as lost. Pure: traces in, figures out, so its own tests prove it detects each failure on made-up traces.
 *
 * What counts as an announcement (protocol.md §8, the SDK's `onGap` / `onRecoveryFailed`):
 * - a gap of the topic in the publication's epoch whose `from`..`to` holds its offset;
 * - a failed recovery of the topic at (`epoch` F, `offset` q): nothing of the topic up to q in F follows,
 *   nor anything of an older epoch (the SDK also reports a delivery in a new epoch this way).
 * Epochs of a topic are ordered by their first appearance among the acknowledgements; an epoch no
 * acknowledgement names (created by a history read, say) counts as newer than all of them.
 */
import { topicMatches } from '@switchboard/protocol';

/** A publication its publisher had acknowledged: `seq` is its place in that publisher's publish order. */
export interface AckedPublication {
  readonly publisher: string;
  readonly seq: number;
  readonly topic: string;
  readonly epoch: string;
  readonly offset: number;
}

/** What a subscriber's application saw, in the order it saw it. */
export type TraceEvent =
  | {
      readonly kind: 'delivery';
      readonly publisher: string;
      readonly seq: number;
      readonly topic: string;
      readonly epoch: string;
      readonly offset: number;
    }
  | { readonly kind: 'gap'; readonly topic: string; readonly epoch: string; readonly from: number; readonly to: number }
  | { readonly kind: 'recovery-failed'; readonly topic: string; readonly epoch: string; readonly offset: number };

export interface SubscriberTrace {
  readonly name: string;
  /** The patterns it held from before the first publish to the end (protocol.md §4: `*` one segment, `>` the rest). */
  readonly patterns: readonly string[];
  readonly events: readonly TraceEvent[];
}

export interface LedgerReport {
  /** Acknowledged publications. */
  readonly acknowledged: number;
  /** (acknowledged publication, subscriber covering its topic) pairs. */
  readonly expected: number;
  /** Expected pairs delivered at least once. */
  readonly delivered: number;
  /** Expected pairs not delivered but announced as lost. */
  readonly announcedLost: number;
  /** Expected pairs neither delivered nor announced. Must be 0. */
  readonly silentlyLost: number;
  /** Deliveries of a publication the subscriber had already seen (the same publisher and seq). Must be 0. */
  readonly duplicated: number;
  /**
   * Deliveries that arrived after a later publication of the same publisher and topic. Must be 0: a
   * publisher's publications reach every subscriber in the order it published them.
   */
  readonly reordered: number;
  /**
   * Acknowledgements whose offset does not follow the publisher's publish order on that topic (a lower
   * offset, or an older epoch, than an earlier publication of the same publisher and topic). Must be 0.
   */
  readonly misorderedAcks: number;
  /** Deliveries of publications their publisher never saw acknowledged (refused, timed out, cut off). */
  readonly unacknowledgedDelivered: number;
  /** A few examples of each failure, for the test's diagnostics. */
  readonly examples: readonly string[];
}

/** Examples kept per kind of failure. */
const maxExamples = 5;

/** Collects a few examples of each kind of failure. */
class Examples {
  readonly lines: string[] = [];
  private readonly counts = new Map<string, number>();

  add(kind: string, line: () => string): void {
    const count = this.counts.get(kind) ?? 0;
    this.counts.set(kind, count + 1);
    if (count < maxExamples) this.lines.push(`${kind}: ${line()}`);
  }
}

function idOf(publisher: string, seq: number): string {
  return `${publisher}#${seq}`;
}

/** Per topic, each epoch's rank by first appearance among the acknowledgements. */
function epochRanks(acked: readonly AckedPublication[]): Map<string, Map<string, number>> {
  const ranks = new Map<string, Map<string, number>>();
  for (const publication of acked) {
    let topic = ranks.get(publication.topic);
    if (topic === undefined) ranks.set(publication.topic, (topic = new Map()));
    if (!topic.has(publication.epoch)) topic.set(publication.epoch, topic.size);
  }
  return ranks;
}

/** Counts acknowledgements that break their publisher's order on a topic. */
function countMisorderedAcks(acked: readonly AckedPublication[], ranks: Map<string, Map<string, number>>, examples: Examples): number {
  const byStream = new Map<string, AckedPublication[]>();
  for (const publication of acked) {
    const key = `${publication.publisher} ${publication.topic}`;
    let list = byStream.get(key);
    if (list === undefined) byStream.set(key, (list = []));
    list.push(publication);
  }
  let misordered = 0;
  for (const list of byStream.values()) {
    list.sort((a, b) => a.seq - b.seq);
    let highest: AckedPublication | undefined;
    for (const publication of list) {
      const rank = ranks.get(publication.topic)?.get(publication.epoch) ?? Infinity;
      if (highest !== undefined) {
        const highestRank = ranks.get(highest.topic)?.get(highest.epoch) ?? Infinity;
        const behind = rank < highestRank || (rank === highestRank && publication.offset <= highest.offset);
        if (behind) {
          misordered++;
          const before = highest;
          examples.add(
            'ack out of publish order',
            () => `${publication.publisher} seq ${publication.seq} on ${publication.topic} got ${publication.epoch}:${publication.offset} after seq ${before.seq} got ${before.epoch}:${before.offset}`,
          );
          continue;
        }
      }
      highest = publication;
    }
  }
  return misordered;
}

/** Whether a subscriber's announcements cover `publication` (see the file comment). */
function announced(publication: AckedPublication, events: readonly TraceEvent[], ranks: Map<string, Map<string, number>>): boolean {
  const topicRanks = ranks.get(publication.topic);
  const rank = topicRanks?.get(publication.epoch) ?? Infinity;
  for (const event of events) {
    if (event.topic !== publication.topic) continue;
    if (event.kind === 'gap') {
      if (event.epoch === publication.epoch && event.from <= publication.offset && publication.offset <= event.to) return true;
    } else if (event.kind === 'recovery-failed') {
      if (event.epoch === publication.epoch ? publication.offset <= event.offset : rank < (topicRanks?.get(event.epoch) ?? Infinity)) return true;
    }
  }
  return false;
}

/** Checks every subscriber's trace against the acknowledged publications. */
export function checkDeliveries(acked: readonly AckedPublication[], subscribers: readonly SubscriberTrace[]): LedgerReport {
  const examples = new Examples();
  const ranks = epochRanks(acked);
  const ackedById = new Map<string, AckedPublication>();
  for (const publication of acked) ackedById.set(idOf(publication.publisher, publication.seq), publication);
  const misorderedAcks = countMisorderedAcks(acked, ranks, examples);

  let expected = 0;
  let delivered = 0;
  let announcedLost = 0;
  let silentlyLost = 0;
  let duplicated = 0;
  let reordered = 0;
  let unacknowledgedDelivered = 0;
  for (const subscriber of subscribers) {
    const seen = new Set<string>();
    /** Per publisher and topic, the highest seq delivered so far. */
    const highestSeq = new Map<string, number>();
    for (const event of subscriber.events) {
      if (event.kind !== 'delivery') continue;
      const id = idOf(event.publisher, event.seq);
      if (seen.has(id)) {
        duplicated++;
        examples.add('duplicate', () => `${subscriber.name} got ${id} on ${event.topic} again (${event.epoch}:${event.offset})`);
        continue;
      }
      seen.add(id);
      if (!ackedById.has(id)) unacknowledgedDelivered++;
      const stream = `${event.publisher} ${event.topic}`;
      const highest = highestSeq.get(stream);
      if (highest !== undefined && event.seq < highest) {
        reordered++;
        examples.add('reordered', () => `${subscriber.name} got ${id} on ${event.topic} after ${idOf(event.publisher, highest)}`);
      } else {
        highestSeq.set(stream, event.seq);
      }
    }
    for (const publication of acked) {
      if (!subscriber.patterns.some((pattern) => topicMatches(pattern, publication.topic))) continue;
      expected++;
      const id = idOf(publication.publisher, publication.seq);
      if (seen.has(id)) delivered++;
      else if (announced(publication, subscriber.events, ranks)) announcedLost++;
      else {
        silentlyLost++;
        examples.add('silently lost', () => `${subscriber.name} never got ${id} on ${publication.topic} (${publication.epoch}:${publication.offset}), nor a notice of its loss`);
      }
    }
  }
  return { acknowledged: acked.length, expected, delivered, announcedLost, silentlyLost, duplicated, reordered, misorderedAcks, unacknowledgedDelivered, examples: examples.lines };
}

/** One line of figures, as the fault tests print them. */
export function formatReport(report: LedgerReport): string {
  return [
    `acknowledged ${report.acknowledged}`,
    `expected deliveries ${report.expected}`,
    `delivered ${report.delivered}`,
    `announced lost ${report.announcedLost}`,
    `silently lost ${report.silentlyLost}`,
    `duplicated ${report.duplicated}`,
    `reordered ${report.reordered}`,
    `acks out of publish order ${report.misorderedAcks}`,
    `unacknowledged but delivered ${report.unacknowledgedDelivered}`,
  ].join(', ');
}
