import t from 'tap';
import { type AckedPublication, type SubscriberTrace, type TraceEvent, checkDeliveries, formatReport } from './delivery-ledger.js';

/**
 * The fault tests trust this checker to find silent loss, duplicates and reordering: made-up traces with
 * exactly one failure each prove it counts that failure and nothing else.
 */

function ack(publisher: string, seq: number, topic: string, offset: number, epoch = 'e1'): AckedPublication {
  return { publisher, seq, topic, epoch, offset };
}

function delivery(publication: AckedPublication): TraceEvent {
  return { kind: 'delivery', ...publication };
}

function subscriber(name: string, patterns: readonly string[], events: readonly TraceEvent[]): SubscriberTrace {
  return { name, patterns, events };
}

// p1 publishes a.x 1, a.y 1, a.x 2; p2 publishes a.x 3: offsets follow each publisher's order.
const acked = [ack('p1', 1, 'a.x', 1), ack('p1', 2, 'a.y', 1), ack('p1', 3, 'a.x', 2), ack('p2', 1, 'a.x', 3)];
const [x1, y1, x2, x3] = acked as [AckedPublication, AckedPublication, AckedPublication, AckedPublication];

t.test('all delivered once, in order: expected pairs follow the patterns; nothing else counted', async (t) => {
  const report = checkDeliveries(acked, [
    subscriber('exact', ['a.x'], [x1, x2, x3].map(delivery)),
    subscriber('wildcard', ['a.*'], [x1, y1, x2, x3].map(delivery)),
    subscriber('other', ['b.>'], []),
  ]);
  t.match(report, { acknowledged: 4, expected: 7, delivered: 7, announcedLost: 0, silentlyLost: 0, duplicated: 0, reordered: 0, misorderedAcks: 0 });
  t.same(report.examples, []);
});

t.test('a publication neither delivered nor announced is silent loss', async (t) => {
  const report = checkDeliveries(acked, [subscriber('exact', ['a.x'], [x1, x3].map(delivery))]);
  t.match(report, { expected: 3, delivered: 2, announcedLost: 0, silentlyLost: 1, duplicated: 0, reordered: 0 });
  t.match(report.examples, [/silently lost: exact never got p1#3 on a\.x \(e1:2\)/]);
});

t.test('a gap notice holding its offset, in its epoch, announces the loss; one elsewhere does not', async (t) => {
  const covered = checkDeliveries(acked, [subscriber('exact', ['a.x'], [delivery(x1), { kind: 'gap', topic: 'a.x', epoch: 'e1', from: 2, to: 2 }, delivery(x3)])]);
  t.match(covered, { delivered: 2, announcedLost: 1, silentlyLost: 0 });
  for (const gap of [
    { kind: 'gap', topic: 'a.x', epoch: 'e0', from: 1, to: 9 },
    { kind: 'gap', topic: 'a.x', epoch: 'e1', from: 3, to: 9 },
    { kind: 'gap', topic: 'a.y', epoch: 'e1', from: 1, to: 9 },
  ] as const) {
    const report = checkDeliveries(acked, [subscriber('exact', ['a.x'], [delivery(x1), gap, delivery(x3)])]);
    t.match(report, { announcedLost: 0, silentlyLost: 1 }, `${gap.topic} ${gap.epoch} ${gap.from}-${gap.to} does not cover a.x e1:2`);
  }
});

t.test('a failed recovery announces its epoch up to its offset, and every older epoch', async (t) => {
  // Redis came back empty: a.x went on in epoch e2. The subscriber missed e1:2 and e2:1.
  const withReset = [...acked, ack('p1', 4, 'a.x', 1, 'e2'), ack('p1', 5, 'a.x', 2, 'e2')];
  const lateE2 = withReset[5] as AckedPublication;
  const missedBoth = [delivery(x1), delivery(x3), { kind: 'recovery-failed', topic: 'a.x', epoch: 'e2', offset: 1 } as const, delivery(lateE2)];
  t.match(checkDeliveries(withReset, [subscriber('exact', ['a.x'], missedBoth)]), { expected: 5, delivered: 3, announcedLost: 2, silentlyLost: 0 });
  // A failure about the old epoch says nothing of the new one.
  const aboutOld = [delivery(x1), delivery(x3), { kind: 'recovery-failed', topic: 'a.x', epoch: 'e1', offset: 3 } as const, delivery(lateE2)];
  t.match(checkDeliveries(withReset, [subscriber('exact', ['a.x'], aboutOld)]), { delivered: 3, announcedLost: 1, silentlyLost: 1 });
  // An epoch no ack names (a history read created it) is newer than every acknowledged one.
  const unknown = [delivery(x1), { kind: 'recovery-failed', topic: 'a.x', epoch: 'e9', offset: 0 } as const];
  t.match(checkDeliveries(acked, [subscriber('exact', ['a.x'], unknown)]), { delivered: 1, announcedLost: 2, silentlyLost: 0 });
});

t.test('a publication delivered twice is a duplicate, whatever its offset (a resend published anew)', async (t) => {
  const again = { ...delivery(x2), offset: 7 };
  const report = checkDeliveries(acked, [subscriber('exact', ['a.x'], [delivery(x1), delivery(x2), delivery(x3), again])]);
  t.match(report, { delivered: 3, silentlyLost: 0, duplicated: 1, reordered: 0 });
  t.match(report.examples, [/duplicate: exact got p1#3 on a\.x again \(e1:7\)/]);
});

t.test('a publication delivered after a later one of the same publisher and topic is reordered', async (t) => {
  const report = checkDeliveries(acked, [subscriber('exact', ['a.x'], [delivery(x2), delivery(x1), delivery(x3)])]);
  t.match(report, { delivered: 3, silentlyLost: 0, duplicated: 0, reordered: 1 });
  t.match(report.examples, [/reordered: exact got p1#1 on a\.x after p1#3/]);
  // Other publishers and other topics interleave freely.
  const interleaved = checkDeliveries(acked, [subscriber('wildcard', ['a.>'], [delivery(x3), delivery(y1), delivery(x1), delivery(x2)])]);
  t.match(interleaved, { delivered: 4, reordered: 0 });
});

t.test('offsets that do not follow the publish order are misordered acks, within and across epochs', async (t) => {
  // p1's seq 3 was applied before its seq 1 (a retry overtaken by later publishes).
  const swapped = [ack('p1', 1, 'a.x', 2), ack('p1', 2, 'a.y', 1), ack('p1', 3, 'a.x', 1)];
  const report = checkDeliveries(swapped, []);
  t.equal(report.misorderedAcks, 1);
  t.match(report.examples, [/ack out of publish order: p1 seq 3 on a\.x got e1:1 after seq 1 got e1:2/]);
  // An older epoch after a newer one (ranks come from first appearance: e1 before e2).
  const epochs = [ack('p2', 5, 'a.x', 9, 'e1'), ack('p1', 1, 'a.x', 1, 'e2'), ack('p1', 2, 'a.x', 3, 'e1')];
  t.equal(checkDeliveries(epochs, []).misorderedAcks, 1);
  t.equal(checkDeliveries([ack('p1', 1, 'a.x', 5, 'e1'), ack('p1', 2, 'a.x', 1, 'e2')], []).misorderedAcks, 0, 'a new epoch restarts offsets');
});

t.test('deliveries of unacknowledged publications are counted apart, never as expected', async (t) => {
  const refused = { kind: 'delivery', publisher: 'p1', seq: 99, topic: 'a.x', epoch: 'e1', offset: 4 } as const;
  const report = checkDeliveries(acked, [subscriber('exact', ['a.x'], [delivery(x1), delivery(x2), delivery(x3), refused])]);
  t.match(report, { expected: 3, delivered: 3, unacknowledgedDelivered: 1, duplicated: 0, reordered: 0 });
  t.equal(
    formatReport(report),
    'acknowledged 4, expected deliveries 3, delivered 3, announced lost 0, silently lost 0, duplicated 0, reordered 0, acks out of publish order 0, unacknowledged but delivered 1',
  );
});
