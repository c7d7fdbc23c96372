import t from 'tap';
import type { Gap } from '../../src/connection/gap-tracker.js';
import { SendQueue } from '../../src/connection/send-queue.js';
import type { OutboundUnit, OverflowPolicy } from '../../src/hub/outbound-item.js';

/**
 * Presence entries in a connection's send queue (protocol.md §13.3, docs/design/presence.md §2.1): in line with
 * the topic's messages, never conflated, and a dropped one announced as one `presence_gap` per topic.
 */

type Label = string;

function message(id: string, topic: string, offset: number, bytes: number, overflow: OverflowPolicy): OutboundUnit<Label> {
  return { priority: 'normal', bytes, payload: id, topic, offset, epoch: 'e1', overflow };
}

function entry(id: string, topic: string, seq: number, bytes: number, overflow: OverflowPolicy): OutboundUnit<Label> {
  return { priority: 'normal', bytes, payload: id, topic, seq, epoch: 'e1', kind: 'presence', overflow };
}

function label(gap: Gap): Label {
  return gap.seq === undefined ? `gap ${gap.topic} ${gap.from}-${gap.to}` : `presence_gap ${gap.topic} up to ${gap.seq} x${gap.count}`;
}

function queue(maxQueuedBytes: number): SendQueue<Label> {
  return new SendQueue<Label>({ maxQueuedBytes, maxPendingGaps: 4, encodeGap: (gap) => ({ bytes: 0, payload: label(gap) }) });
}

function drain(q: SendQueue<Label>): Label[] {
  const out: Label[] = [];
  for (let frame = q.next(); frame !== undefined; frame = q.next()) out.push(frame.payload);
  return out;
}

t.test('under conflate, an entry is never replaced, nor lets a newer message overtake it', async (t) => {
  const q = queue(1000);
  q.enqueue(message('m1', 'room', 1, 10, 'conflate'));
  q.enqueue(entry('join', 'room', 1, 10, 'conflate'));
  q.enqueue(message('m2', 'room', 2, 10, 'conflate'));
  q.enqueue(entry('leave', 'room', 2, 10, 'conflate'));
  t.same(drain(q), ['m1', 'join', 'm2', 'leave'], 'every item in order: m2 did not replace m1 across the join');
});

t.test('dropped entries make one presence_gap per topic with the highest seq; messages keep their gaps', async (t) => {
  const q = queue(30);
  q.enqueue(entry('join1', 'room', 1, 10, 'drop-oldest'));
  q.enqueue(entry('join2', 'room', 2, 10, 'drop-oldest'));
  q.enqueue(message('m1', 'room', 1, 10, 'drop-oldest'));
  q.enqueue(entry('other', 'hall', 7, 10, 'drop-oldest'));
  q.enqueue(message('m2', 'room', 2, 20, 'drop-oldest'));
  t.same(q.peekGaps().map(label), ['presence_gap room up to 2 x2', 'gap room 1-1'], 'oldest first: both entries of room, then m1');
  t.same(drain(q), ['presence_gap room up to 2 x2', 'gap room 1-1', 'other', 'm2']);
  q.enqueue(entry('join3', 'room', 3, 40, 'drop-oldest'));
  t.same(drain(q), ['presence_gap room up to 3 x1'], 'a later drop opens a new notice once the first went out');
});

t.test('under disconnect an entry is never dropped: the queue fails instead', async (t) => {
  const q = queue(15);
  q.enqueue(entry('join', 'room', 1, 10, 'disconnect'));
  t.match(q.enqueue(entry('leave', 'room', 2, 10, 'disconnect')), { outcome: 'disconnect', reason: 'queue-full' });
});

t.test('presence notices count toward maxPendingGaps', async (t) => {
  const q = queue(10);
  let result;
  for (let index = 0; index < 6; index++) result = q.enqueue(entry(`e${index}`, `room${index}`, 1, 20, 'drop-oldest'));
  t.match(result, { outcome: 'disconnect', reason: 'too-many-gaps' });
});
