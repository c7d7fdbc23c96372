import fc from 'fast-check';
import t from 'tap';
import { SEND_PRIORITIES, type SendPriority } from '@switchboard/protocol';
import type { Gap } from '../../src/connection/gap-tracker.js';
import { SendQueue, sendQueueDefaults, type SendQueueOptions } from '../../src/connection/send-queue.js';
import type { OutboundChunkSequence, OutboundFrame, OutboundUnit, OverflowPolicy } from '../../src/hub/outbound-item.js';

/** What a test frame carries, so the output can be read back as labels. */
type Label = string;

interface Delivery {
  readonly topic?: string;
  readonly offset?: number;
  readonly epoch?: string;
  readonly overflow?: OverflowPolicy;
}

function unit(id: string, priority: SendPriority, bytes: number, delivery: Delivery = {}): OutboundUnit<Label> {
  return { priority, bytes, payload: id, ...delivery };
}

function chunks(
  id: string,
  priority: SendPriority,
  count: number,
  chunkBytes: number,
  delivery: Delivery & { abandonBytes?: number } = {},
): OutboundChunkSequence<Label> {
  const { abandonBytes, ...rest } = delivery;
  const sequence: OutboundChunkSequence<Label> = {
    priority,
    chunks: Array.from({ length: count }, (_, index) => ({ bytes: chunkBytes, payload: `${id}#${index}` })),
    ...rest,
  };
  return abandonBytes === undefined ? sequence : { ...sequence, abandon: { bytes: abandonBytes, payload: `${id}!abandon` } };
}

function gapLabel(gap: Gap): Label {
  const epoch = gap.epoch === undefined ? '' : `@${gap.epoch}`;
  const range = gap.from === undefined ? '' : ` ${gap.from}-${gap.to}`;
  return `gap ${gap.topic}${epoch}${range} x${gap.count} ${gap.reason}`;
}

function queue(options: Partial<SendQueueOptions<Label>> = {}): SendQueue<Label> {
  return new SendQueue<Label>({ encodeGap: (gap) => ({ bytes: 0, payload: gapLabel(gap) }), ...options });
}

function drain(q: SendQueue<Label>): Label[] {
  const out: Label[] = [];
  for (let frame = q.next(); frame !== undefined; frame = q.next()) out.push(frame.payload);
  return out;
}

t.test('scheduling', async (t) => {
  t.test('frames leave by priority, control > high > normal > low, FIFO within a priority', async (t) => {
    const q = queue();
    q.enqueue(unit('low1', 'low', 1));
    q.enqueue(unit('normal1', 'normal', 1));
    q.enqueue(unit('high1', 'high', 1));
    q.enqueue(unit('control1', 'control', 1));
    q.enqueue(unit('normal2', 'normal', 1));
    q.enqueue(unit('high2', 'high', 1));
    t.equal(q.depth, 6);
    t.equal(q.depthOf('normal'), 2);
    t.same(drain(q), ['control1', 'high1', 'high2', 'normal1', 'normal2', 'low1']);
    t.equal(q.next(), undefined);
    t.ok(q.isEmpty);
  });

  t.test('a high message enqueued during a large normal transfer goes out before its remaining chunks', async (t) => {
    const q = queue();
    q.enqueue(chunks('big', 'normal', 4, 100, { topic: 'files', offset: 1 }));
    t.equal(q.next()?.payload, 'big#0');
    q.enqueue(unit('urgent', 'high', 10, { topic: 'alerts', offset: 1 }));
    t.same(drain(q), ['urgent', 'big#1', 'big#2', 'big#3']);
  });

  t.test('within a priority a transfer finishes before the next message (per-topic order)', async (t) => {
    const q = queue();
    q.enqueue(chunks('big', 'normal', 3, 10, { topic: 'a', offset: 1 }));
    q.enqueue(unit('small', 'normal', 1, { topic: 'a', offset: 2 }));
    t.same(drain(q), ['big#0', 'big#1', 'big#2', 'small']);
  });

  t.test('the next unit is re-picked after every chunk', async (t) => {
    const q = queue();
    q.enqueue(chunks('low', 'low', 3, 10, { topic: 'l' }));
    q.enqueue(chunks('normal', 'normal', 2, 10, { topic: 'n' }));
    t.equal(q.next()?.payload, 'normal#0');
    q.enqueue(chunks('high', 'high', 2, 10, { topic: 'h' }));
    t.equal(q.next()?.payload, 'high#0');
    q.enqueue(unit('ack', 'control', 1));
    t.same(drain(q), ['ack', 'high#1', 'normal#1', 'low#0', 'low#1', 'low#2']);
  });

  t.test('queuedBytes counts frames not yet taken; a sequence counts in depth until its last chunk', async (t) => {
    const q = queue();
    q.enqueue(chunks('big', 'normal', 3, 100));
    q.enqueue(unit('u', 'high', 7));
    t.equal(q.queuedBytes, 307);
    q.next();
    t.equal(q.queuedBytes, 300);
    q.next();
    t.equal(q.queuedBytes, 200);
    t.equal(q.depth, 1);
    drain(q);
    t.equal(q.queuedBytes, 0);
    t.equal(q.depth, 0);
  });
});

t.test('overflow: drop-oldest', async (t) => {
  t.test('under the cap nothing is dropped', async (t) => {
    const q = queue({ maxQueuedBytes: 100 });
    for (let i = 0; i < 10; i++) t.same(q.enqueue(unit(`m${i}`, 'low', 10, { topic: 'a', offset: i })), { outcome: 'queued', evicted: 0 });
    t.equal(q.queuedBytes, 100);
    t.equal(q.pendingGaps, 0);
  });

  t.test('evicts lowest priority first, oldest first, and announces the gap before anything else', async (t) => {
    const q = queue({ maxQueuedBytes: 40 });
    q.enqueue(unit('n1', 'normal', 10, { topic: 'news', offset: 1 }));
    q.enqueue(unit('l1', 'low', 10, { topic: 'logs', offset: 7 }));
    q.enqueue(unit('l2', 'low', 10, { topic: 'logs', offset: 8 }));
    q.enqueue(unit('n2', 'normal', 10, { topic: 'news', offset: 2 }));
    t.same(q.enqueue(unit('h1', 'high', 20, { topic: 'alerts', offset: 1 })), { outcome: 'queued', evicted: 2 });
    t.equal(q.queuedBytes, 40);
    t.same(q.peekGaps(), [{ topic: 'logs', count: 2, from: 7, to: 8, reason: 'dropped' }]);
    t.same(q.enqueue(unit('h2', 'high', 10, { topic: 'alerts', offset: 2 })), { outcome: 'queued', evicted: 1 });
    t.same(drain(q), ['gap logs 7-8 x2 dropped', 'gap news 1-1 x1 dropped', 'h1', 'h2', 'n2']);
  });

  t.test('never displaces a more urgent delivery: the newcomer is dropped instead', async (t) => {
    const q = queue({ maxQueuedBytes: 20 });
    q.enqueue(unit('h1', 'high', 10, { topic: 'a', offset: 1 }));
    q.enqueue(unit('h2', 'high', 10, { topic: 'a', offset: 2 }));
    t.same(q.enqueue(unit('l1', 'low', 10, { topic: 'b', offset: 5 })), { outcome: 'dropped', evicted: 0 });
    t.same(drain(q), ['gap b 5-5 x1 dropped', 'h1', 'h2']);
  });

  t.test('evicts nothing unless that makes the newcomer fit', async (t) => {
    const q = queue({ maxQueuedBytes: 30 });
    q.enqueue(unit('l1', 'low', 10, { topic: 'a', offset: 1 }));
    q.enqueue(unit('keep', 'low', 20, { topic: 'b', offset: 1, overflow: 'disconnect' }));
    t.same(q.enqueue(unit('l2', 'low', 25, { topic: 'a', offset: 2 })), { outcome: 'dropped', evicted: 0 });
    t.same(drain(q), ['gap a 2-2 x1 dropped', 'l1', 'keep']);
  });

  t.test('an item larger than the cap is dropped and announced', async (t) => {
    const q = queue({ maxQueuedBytes: 10 });
    t.same(q.enqueue(unit('huge', 'normal', 11, { topic: 'a', offset: 3 })), { outcome: 'dropped', evicted: 0 });
    t.same(drain(q), ['gap a 3-3 x1 dropped']);
  });

  t.test('losses without offsets are counted', async (t) => {
    const q = queue({ maxQueuedBytes: 10 });
    q.enqueue(unit('a1', 'low', 10, { topic: 'a' }));
    q.enqueue(unit('a2', 'low', 10, { topic: 'a' }));
    t.same(drain(q), ['gap a x1 dropped', 'a2']);
  });
});

t.test('overflow: what is never dropped', async (t) => {
  t.test('control items are never evicted; one that cannot fit fails the queue', async (t) => {
    const q = queue({ maxQueuedBytes: 30 });
    q.enqueue(unit('ack1', 'control', 20));
    q.enqueue(unit('l1', 'low', 10, { topic: 'a', offset: 1 }));
    t.same(q.enqueue(unit('ack2', 'control', 10)), { outcome: 'queued', evicted: 1 }, 'evicts a delivery for it');
    t.same(q.enqueue(unit('ack3', 'control', 1)), { outcome: 'disconnect', reason: 'queue-full' });
    t.equal(q.failed, 'queue-full');
    t.equal(q.queuedBytes, 0, 'memory is released at once');
    t.equal(q.next(), undefined);
    t.same(q.enqueue(unit('late', 'high', 1, { topic: 'a' })), { outcome: 'disconnect', reason: 'queue-full' }, 'sticky');
  });

  t.test('control items are never dropped even with a loss-tolerant policy', async (t) => {
    const q = queue({ maxQueuedBytes: 10 });
    q.enqueue(unit('ack1', 'control', 10, { topic: 'a', overflow: 'drop-oldest' }));
    t.same(q.enqueue(unit('ack2', 'control', 1, { topic: 'a', overflow: 'drop-oldest' })), {
      outcome: 'disconnect',
      reason: 'queue-full',
    });
  });

  t.test('items without a topic cannot be announced, so they are never dropped', async (t) => {
    const q = queue({ maxQueuedBytes: 10 });
    q.enqueue(unit('reply1', 'normal', 10));
    t.same(q.enqueue(unit('reply2', 'normal', 1)), { outcome: 'disconnect', reason: 'queue-full' });
  });

  t.test('disconnect policy: tolerant deliveries of any priority make room first, then the queue fails', async (t) => {
    const q = queue({ maxQueuedBytes: 30 });
    q.enqueue(unit('h1', 'high', 10, { topic: 'ticks', offset: 1 }));
    q.enqueue(unit('o1', 'low', 10, { topic: 'orders', offset: 1, overflow: 'disconnect' }));
    q.enqueue(unit('o2', 'low', 10, { topic: 'orders', offset: 2, overflow: 'disconnect' }));
    t.same(q.enqueue(unit('o3', 'low', 10, { topic: 'orders', offset: 3, overflow: 'disconnect' })), {
      outcome: 'queued',
      evicted: 1,
    });
    t.same(q.peekGaps(), [{ topic: 'ticks', count: 1, from: 1, to: 1, reason: 'dropped' }]);
    t.same(q.enqueue(unit('o4', 'low', 10, { topic: 'orders', offset: 4, overflow: 'disconnect' })), {
      outcome: 'disconnect',
      reason: 'queue-full',
    });
  });

  t.test('a started sequence without an abandon frame is always completed', async (t) => {
    const q = queue({ maxQueuedBytes: 40 });
    q.enqueue(chunks('big', 'low', 4, 10, { topic: 'files', offset: 1 }));
    t.equal(q.next()?.payload, 'big#0');
    t.same(q.enqueue(unit('n', 'low', 20, { topic: 'files', offset: 2 })), { outcome: 'dropped', evicted: 0 });
    t.same(drain(q), ['gap files 2-2 x1 dropped', 'big#1', 'big#2', 'big#3']);
  });

  t.test('an unstarted sequence is dropped as a whole', async (t) => {
    const q = queue({ maxQueuedBytes: 40 });
    q.enqueue(chunks('big', 'low', 4, 10, { topic: 'files', offset: 1 }));
    t.same(q.enqueue(unit('h', 'high', 5, { topic: 'alerts', offset: 9 })), { outcome: 'queued', evicted: 1 });
    t.equal(q.queuedBytes, 5);
    t.same(drain(q), ['gap files 1-1 x1 dropped', 'h']);
  });

  t.test('a started sequence with an abandon frame is dropped as a whole transfer: abandon, then its gap', async (t) => {
    const q = queue({ maxQueuedBytes: 40 });
    q.enqueue(chunks('big', 'low', 4, 10, { topic: 'files', offset: 1, abandonBytes: 2 }));
    t.equal(q.next()?.payload, 'big#0');
    t.same(q.enqueue(unit('h', 'high', 30, { topic: 'alerts', offset: 9 })), { outcome: 'queued', evicted: 1 });
    t.equal(q.queuedBytes, 32, 'the abandon frame is counted');
    t.same(drain(q), ['big!abandon', 'gap files 1-1 x1 dropped', 'h'], 'pubsub.v1 §7.4: cancel, then gap');
  });

  t.test('an abandon frame larger than what it frees makes the transfer not worth dropping', async (t) => {
    const q = queue({ maxQueuedBytes: 20 });
    q.enqueue(chunks('big', 'low', 2, 10, { topic: 'files', offset: 1, abandonBytes: 15 }));
    q.next();
    t.same(q.enqueue(unit('l', 'low', 15, { topic: 'x', offset: 1 })), { outcome: 'dropped', evicted: 0 });
    t.same(drain(q), ['gap x 1-1 x1 dropped', 'big#1']);
  });
});

t.test('overflow: conflate', async (t) => {
  t.test('a newer message replaces the queued one of its topic and takes its place in line', async (t) => {
    const q = queue();
    q.enqueue(unit('eur1', 'normal', 10, { topic: 'px.eur', offset: 1, overflow: 'conflate' }));
    q.enqueue(unit('usd1', 'normal', 10, { topic: 'px.usd', offset: 1, overflow: 'conflate' }));
    t.same(q.enqueue(unit('eur2', 'normal', 12, { topic: 'px.eur', offset: 2, overflow: 'conflate' })), {
      outcome: 'queued',
      evicted: 1,
    });
    q.enqueue(unit('eur3', 'normal', 10, { topic: 'px.eur', offset: 3, overflow: 'conflate' }));
    t.equal(q.queuedBytes, 20);
    t.equal(q.depth, 2);
    t.same(drain(q), ['gap px.eur 1-2 x2 conflated', 'eur3', 'usd1']);
  });

  t.test('a newer message never overtakes a message of its topic queued after the one it would replace', async (t) => {
    const q = queue();
    q.enqueue(unit('v1', 'normal', 10, { topic: 's', offset: 1, overflow: 'conflate' }));
    q.enqueue(unit('event2', 'normal', 10, { topic: 's', offset: 2, overflow: 'drop-oldest' }));
    q.enqueue(unit('v3', 'normal', 10, { topic: 's', offset: 3, overflow: 'conflate' }));
    t.same(drain(q), ['v1', 'event2', 'v3']);
  });

  t.test('a message already being written is not replaced', async (t) => {
    const q = queue();
    q.enqueue(chunks('v1', 'normal', 2, 10, { topic: 'state', offset: 1, overflow: 'conflate' }));
    t.equal(q.next()?.payload, 'v1#0');
    q.enqueue(unit('v2', 'normal', 10, { topic: 'state', offset: 2, overflow: 'conflate' }));
    q.enqueue(unit('v3', 'normal', 10, { topic: 'state', offset: 3, overflow: 'conflate' }));
    t.same(drain(q), ['gap state 2-2 x1 conflated', 'v1#1', 'v3']);
  });

  t.test('a newer message at another priority goes to its own lane', async (t) => {
    const q = queue();
    q.enqueue(unit('v1', 'low', 10, { topic: 's', offset: 1, overflow: 'conflate' }));
    q.enqueue(unit('other', 'high', 1, { topic: 'o', offset: 1 }));
    q.enqueue(unit('v2', 'high', 10, { topic: 's', offset: 2, overflow: 'conflate' }));
    t.same(drain(q), ['gap s 1-1 x1 conflated', 'other', 'v2']);
  });

  t.test('under pressure conflated deliveries are dropped like drop-oldest ones', async (t) => {
    const q = queue({ maxQueuedBytes: 20 });
    q.enqueue(unit('a1', 'low', 10, { topic: 'a', offset: 1, overflow: 'conflate' }));
    q.enqueue(unit('b1', 'low', 10, { topic: 'b', offset: 1, overflow: 'conflate' }));
    t.same(q.enqueue(unit('c1', 'low', 10, { topic: 'c', offset: 1, overflow: 'conflate' })), { outcome: 'queued', evicted: 1 });
    t.same(drain(q), ['gap a 1-1 x1 dropped', 'b1', 'c1']);
  });

  t.test('replacing counts the replaced bytes as freed', async (t) => {
    const q = queue({ maxQueuedBytes: 20 });
    q.enqueue(unit('keep', 'high', 10, { topic: 'k', offset: 1, overflow: 'disconnect' }));
    q.enqueue(unit('a1', 'low', 10, { topic: 'a', offset: 1, overflow: 'conflate' }));
    t.same(q.enqueue(unit('a2', 'low', 10, { topic: 'a', offset: 2, overflow: 'conflate' })), { outcome: 'queued', evicted: 1 });
    t.same(drain(q), ['gap a 1-1 x1 conflated', 'keep', 'a2']);
  });

  t.test('when the latest value cannot fit, the stale one is not delivered either', async (t) => {
    const q = queue({ maxQueuedBytes: 20 });
    q.enqueue(unit('keep', 'high', 10, { topic: 'k', offset: 1, overflow: 'disconnect' }));
    q.enqueue(unit('a1', 'low', 10, { topic: 'a', offset: 1, overflow: 'conflate' }));
    t.same(q.enqueue(unit('a2', 'low', 15, { topic: 'a', offset: 2, overflow: 'conflate' })), { outcome: 'dropped', evicted: 1 });
    t.same(drain(q), ['gap a 1-2 x2 dropped', 'keep']);
  });
});

t.test('gap notices', async (t) => {
  t.test('losses of one topic merge into one notice until it is written', async (t) => {
    const q = queue({ maxQueuedBytes: 10 });
    for (let offset = 1; offset <= 5; offset++) q.enqueue(unit(`a${offset}`, 'low', 10, { topic: 'a', offset }));
    t.equal(q.pendingGaps, 1);
    t.same(drain(q), ['gap a 1-4 x4 dropped', 'a5']);
    q.enqueue(unit('a6', 'low', 10, { topic: 'a', offset: 6 }));
    q.enqueue(unit('a7', 'low', 10, { topic: 'a', offset: 7 }));
    t.same(drain(q), ['gap a 6-6 x1 dropped', 'a7'], 'a later loss gets its own notice');
  });

  t.test('gap notices wait for queued control frames but go before any delivery', async (t) => {
    const q = queue({ maxQueuedBytes: 20 });
    q.enqueue(unit('ack', 'control', 5));
    q.enqueue(unit('l1', 'low', 10, { topic: 'a', offset: 1 }));
    q.enqueue(unit('h1', 'high', 5, { topic: 'b', offset: 1 }));
    q.enqueue(unit('h2', 'high', 10, { topic: 'b', offset: 2 }));
    t.same(drain(q), ['ack', 'gap a 1-1 x1 dropped', 'h1', 'h2']);
  });

  t.test('a notice names the epoch and never spans an offset that is still queued', async (t) => {
    const q = queue({ maxQueuedBytes: 30 });
    q.enqueue(unit('a1', 'low', 10, { topic: 'a', offset: 1, epoch: 'e9' }));
    q.enqueue(unit('a2', 'high', 10, { topic: 'a', offset: 2, epoch: 'e9' }));
    q.enqueue(unit('a3', 'low', 10, { topic: 'a', offset: 3, epoch: 'e9' }));
    q.enqueue(unit('b1', 'normal', 20, { topic: 'b', offset: 1, overflow: 'disconnect' }));
    t.same(drain(q), ['gap a@e9 1-1 x1 dropped', 'gap a@e9 3-3 x1 dropped', 'a2', 'b1']);
  });

  t.test('too many pending gap notices fail the queue rather than lose silently', async (t) => {
    const q = queue({ maxQueuedBytes: 10, maxPendingGaps: 2 });
    q.enqueue(unit('t0', 'low', 10, { topic: 't0', offset: 1 }));
    t.equal(q.enqueue(unit('t1', 'low', 10, { topic: 't1', offset: 1 })).outcome, 'queued');
    t.equal(q.enqueue(unit('t2', 'low', 10, { topic: 't2', offset: 1 })).outcome, 'queued');
    t.same(q.enqueue(unit('t3', 'low', 10, { topic: 't3', offset: 1 })), { outcome: 'disconnect', reason: 'too-many-gaps' });
    t.equal(q.pendingGaps, 0);
  });
});

t.test('configuration', async (t) => {
  t.equal(sendQueueDefaults.maxQueuedBytes, 1024 * 1024);
  const q = queue();
  t.equal(q.maxQueuedBytes, 1024 * 1024);
  t.equal(q.defaultOverflow, 'drop-oldest');
  t.throws(() => queue({ maxQueuedBytes: 0 }), RangeError);
  t.throws(() => queue({ maxPendingGaps: -1 }), RangeError);
  t.throws(() => q.enqueue(unit('x', 'low', -1)), RangeError);
  t.throws(() => q.enqueue(unit('x', 'low', Number.NaN)), RangeError);
  t.throws(() => q.enqueue(chunks('x', 'low', 0, 1)), RangeError);
  t.throws(() => q.enqueue({ ...chunks('x', 'low', 1, 1), abandon: { bytes: -1, payload: '' } }), RangeError);
  t.equal(q.queuedBytes, 0, 'a rejected item leaves nothing behind');
});

t.test('a consumer that never reads: memory stays under the cap', async (t) => {
  const maxQueuedBytes = 64 * 1024;
  const q = queue({ maxQueuedBytes });
  let peak = 0;
  const topics = ['a', 'b', 'c', 'd'];
  const offsets = new Map<string, number>();
  for (let i = 0; i < 100_000; i++) {
    const topicIndex = i % topics.length;
    const topic = topics[topicIndex] as string;
    const offset = (offsets.get(topic) ?? 0) + 1;
    offsets.set(topic, offset);
    const priority = SEND_PRIORITIES[1 + (topicIndex % 3)] as SendPriority; // a topic publishes at one priority
    const result =
      i % 7 === 0
        ? q.enqueue(chunks(`m${i}`, priority, 4, 400, { topic, offset, abandonBytes: 8 }))
        : q.enqueue(unit(`m${i}`, priority, 100 + (i % 200), { topic, offset }));
    if (result.outcome === 'disconnect') t.fail(`drop-oldest disconnected: ${result.reason}`);
    peak = Math.max(peak, q.queuedBytes);
  }
  t.ok(peak <= maxQueuedBytes, `peak ${peak} <= cap ${maxQueuedBytes}`);
  t.ok(q.pendingGaps <= topics.length, 'one run of lost offsets per topic');
  const announced = q.peekGaps().reduce((sum, gap) => sum + gap.count, 0);
  t.equal(announced + q.depth, 100_000, 'every message is queued or announced');
});

t.test('a consumer that never reads, with topics at mixed priorities: still bounded', async (t) => {
  const maxQueuedBytes = 16 * 1024;
  const q = queue({ maxQueuedBytes, maxPendingGaps: 64 });
  let withinBounds = true;
  for (let i = 0; i < 100_000 && q.failed === undefined; i++) {
    const priority = SEND_PRIORITIES[1 + (i % 3)] as SendPriority;
    q.enqueue(unit(`m${i}`, priority, 100, { topic: 't', offset: i + 1 }));
    withinBounds &&= q.queuedBytes <= maxQueuedBytes && q.pendingGaps <= 64;
  }
  t.ok(withinBounds, 'bytes and pending notices stayed within their bounds');
  // Losses interleaved with surviving offsets fragment into many notices; past the bound the queue gives up.
  t.equal(q.failed, 'too-many-gaps');
  t.equal(q.queuedBytes, 0);
});

// ---- Properties -------------------------------------------------------------------------------------------

interface TestItem {
  readonly priority: SendPriority;
  readonly topic: string | undefined;
  readonly overflow: OverflowPolicy | undefined;
  readonly chunkBytes: readonly number[];
  readonly chunked: boolean;
  readonly abandonBytes: number | undefined;
}

const itemArbitrary: fc.Arbitrary<TestItem> = fc.record({
  priority: fc.constantFrom(...SEND_PRIORITIES),
  topic: fc.constantFrom('t0', 't1', 't2', 't3', undefined),
  overflow: fc.constantFrom<OverflowPolicy | undefined>('disconnect', 'drop-oldest', 'conflate', undefined),
  chunkBytes: fc.array(fc.integer({ min: 0, max: 120 }), { minLength: 1, maxLength: 5 }),
  chunked: fc.boolean(),
  abandonBytes: fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined }),
});

type Operation = { readonly kind: 'enqueue'; readonly item: TestItem } | { readonly kind: 'next'; readonly count: number };

const operationArbitrary: fc.Arbitrary<Operation> = fc.oneof(
  { weight: 3, arbitrary: itemArbitrary.map((item) => ({ kind: 'enqueue' as const, item })) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 4 }).map((count) => ({ kind: 'next' as const, count })) },
);

interface Sent {
  readonly id: number;
  readonly priority: SendPriority;
  readonly topic: string | undefined;
  readonly offset: number;
  readonly overflow: OverflowPolicy;
  readonly frames: number;
}

/** Payloads in the property test: which message and chunk a frame belongs to, or a gap notice. */
type PropertyPayload =
  | { readonly kind: 'chunk'; readonly message: Sent; readonly index: number }
  | { readonly kind: 'abandon'; readonly message: Sent }
  | { readonly kind: 'gap'; readonly gap: Gap };

function runHistory(maxQueuedBytes: number, operations: readonly Operation[], drainAtEnd: boolean): string | undefined {
  const q = new SendQueue<PropertyPayload>({ maxQueuedBytes, encodeGap: (gap) => ({ bytes: 0, payload: { kind: 'gap', gap } }) });
  const sent: Sent[] = [];
  const offsets = new Map<string, number>();
  const nextChunk = new Map<number, number>();
  const abandoned = new Set<number>();
  const completed = new Set<number>();
  const gaps: Gap[] = [];
  const lastOffsetByTopicAndPriority = new Map<string, number>();
  const lastStartedByLane = new Map<SendPriority, number>();

  const take = (): string | undefined | 'empty' => {
    const pendingGaps = q.pendingGaps;
    const expectedPriority = SEND_PRIORITIES.find((priority) => q.depthOf(priority) > 0);
    const frame = q.next();
    if (frame === undefined) {
      return pendingGaps === 0 && expectedPriority === undefined ? 'empty' : 'next() returned nothing with work queued';
    }
    const payload = frame.payload;
    if (payload.kind === 'gap') {
      if (pendingGaps === 0) return 'gap notice without pending gap';
      if (expectedPriority === 'control') return 'gap notice before queued control frames';
      gaps.push(payload.gap);
      return undefined;
    }
    if (pendingGaps > 0 && expectedPriority !== 'control') return 'a delivery went out before a pending gap notice';
    if (payload.kind === 'abandon') {
      if (expectedPriority !== 'control') return 'abandon frame not sent as control';
      const { id, frames } = payload.message;
      const started = nextChunk.get(id) ?? 0;
      if (started === 0 || started === frames || abandoned.has(id)) return 'abandon frame for a message not half-sent';
      abandoned.add(id);
      return undefined;
    }
    const { message, index } = payload;
    if (message.priority !== expectedPriority) return `sent ${message.priority} while ${expectedPriority} was queued`;
    if (abandoned.has(message.id)) return 'chunk after abandon';
    if ((nextChunk.get(message.id) ?? 0) !== index) return `chunk ${index} of ${message.id} out of order`;
    nextChunk.set(message.id, index + 1);
    if (index === 0) {
      if (message.topic !== undefined) {
        const key = `${message.topic}/${message.priority}`;
        if ((lastOffsetByTopicAndPriority.get(key) ?? 0) >= message.offset) return `per-topic order broken on ${key}`;
        lastOffsetByTopicAndPriority.set(key, message.offset);
      }
      // FIFO within a lane, except that a conflated message inherits its predecessor's place.
      if (message.overflow !== 'conflate' || message.topic === undefined || message.priority === 'control') {
        if ((lastStartedByLane.get(message.priority) ?? -1) >= message.id) return `FIFO broken in ${message.priority}`;
        lastStartedByLane.set(message.priority, message.id);
      }
    }
    if (index === message.frames - 1) completed.add(message.id);
    return undefined;
  };

  for (const operation of operations) {
    if (operation.kind === 'next') {
      for (let i = 0; i < operation.count; i++) {
        const problem = take();
        if (problem === 'empty') break;
        if (problem !== undefined) return problem;
      }
      continue;
    }
    const { item } = operation;
    const id = sent.length;
    const offset = item.topic === undefined ? id : (offsets.get(item.topic) ?? 0) + 1;
    if (item.topic !== undefined) offsets.set(item.topic, offset);
    const overflow = item.overflow ?? 'drop-oldest';
    const frameBytes = item.chunked ? item.chunkBytes : item.chunkBytes.slice(0, 1);
    const message: Sent = { id, priority: item.priority, topic: item.topic, offset, overflow, frames: frameBytes.length };
    sent.push(message);
    const delivery = {
      priority: item.priority,
      ...(item.topic === undefined ? {} : { topic: item.topic, offset }),
      ...(item.overflow === undefined ? {} : { overflow: item.overflow }),
    };
    const frames: OutboundFrame<PropertyPayload>[] = frameBytes.map((bytes, index) => ({ bytes, payload: { kind: 'chunk', message, index } }));
    const before = q.queuedBytes;
    const wasFailed = q.failed !== undefined;
    const result = item.chunked
      ? q.enqueue({
          ...delivery,
          chunks: frames,
          ...(item.abandonBytes === undefined ? {} : { abandon: { bytes: item.abandonBytes, payload: { kind: 'abandon', message } } }),
        })
      : q.enqueue({ ...delivery, ...(frames[0] as OutboundFrame<PropertyPayload>) });
    if (q.queuedBytes > maxQueuedBytes) return `queuedBytes ${q.queuedBytes} above cap ${maxQueuedBytes}`;
    const tolerant = item.priority !== 'control' && item.topic !== undefined && overflow !== 'disconnect';
    const bytes = frameBytes.reduce((sum, b) => sum + b, 0);
    if (result.outcome === 'dropped' && !tolerant) return 'dropped an item that must not be lost';
    if (result.outcome === 'disconnect' && !wasFailed && tolerant && result.reason === 'queue-full') return 'disconnect for a tolerant item';
    if (!wasFailed && before + bytes <= maxQueuedBytes) {
      if (result.outcome !== 'queued') return `refused an item that fit: ${result.outcome}`;
      if (result.evicted > (overflow === 'conflate' ? 1 : 0)) return 'evicted although the item fit';
    }
  }

  if (q.failed !== undefined || !drainAtEnd) return undefined;
  for (;;) {
    const problem = take();
    if (problem === 'empty') break;
    if (problem !== undefined) return problem;
  }
  // Losses are never silent: every message with a topic was completed or falls in a gap of its topic.
  for (const topic of new Set(sent.map((m) => m.topic))) {
    if (topic === undefined) continue;
    const lost = sent.filter((m) => m.topic === topic && !completed.has(m.id));
    const topicGaps = gaps.filter((gap) => gap.topic === topic);
    for (const gap of topicGaps) {
      if (gap.from === undefined || gap.to === undefined) return 'a gap without its offsets';
      if (gap.count !== gap.to - gap.from + 1) return `gap ${gap.from}-${gap.to} counts ${gap.count}`;
      const delivered = sent.find((m) => m.topic === topic && completed.has(m.id) && gap.from! <= m.offset && m.offset <= gap.to!);
      if (delivered !== undefined) return `gap ${gap.from}-${gap.to} on ${topic} covers delivered offset ${delivered.offset}`;
    }
    const announced = topicGaps.reduce((sum, gap) => sum + gap.count, 0);
    if (announced !== lost.length) return `topic ${topic}: ${lost.length} lost, ${announced} announced`;
    for (const message of lost) {
      if (!topicGaps.some((gap) => gap.from !== undefined && gap.to !== undefined && gap.from <= message.offset && message.offset <= gap.to)) {
        return `topic ${topic}: offset ${message.offset} lost without a gap covering it`;
      }
    }
  }
  for (const message of sent) {
    if (message.topic === undefined && !completed.has(message.id)) return 'a message without a topic was lost';
    if (message.overflow === 'disconnect' && !completed.has(message.id)) return 'a disconnect-policy message was lost';
    if (message.priority === 'control' && !completed.has(message.id)) return 'a control message was lost';
    const started = nextChunk.get(message.id) ?? 0;
    if (started > 0 && !completed.has(message.id) && !abandoned.has(message.id)) return 'a half-sent message ended without abandon';
  }
  return undefined;
}

t.test('property: cap, priorities, chunk order, per-topic order and announced losses', async (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 50, max: 1500 }), fc.array(operationArbitrary, { maxLength: 120, size: 'max' }), (cap, operations) => {
      const problem = runHistory(cap, operations, true);
      if (problem !== undefined) throw new Error(problem);
    }),
    { numRuns: Number(process.env.SEND_QUEUE_RUNS ?? 1000) },
  );
  t.pass('random random histories hold every invariant');
});

t.test('property: a consumer that never reads never costs more than the cap', async (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 50, max: 1500 }), fc.array(itemArbitrary, { maxLength: 200, size: 'max' }), (cap, items) => {
      const problem = runHistory(
        cap,
        items.map((item) => ({ kind: 'enqueue', item })),
        false,
      );
      if (problem !== undefined) throw new Error(problem);
    }),
    { numRuns: 500 },
  );
  t.pass();
});
