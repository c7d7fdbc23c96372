import fc from 'fast-check';
import t from 'tap';
import type { HistoryRetention, Publication } from '../../src/engine/engine.js';
import { TopicStream } from '../../src/engine/topic-stream.js';

function publish(stream: TopicStream, retention: HistoryRetention | undefined, now = 0): Publication {
  const offset = stream.allocateOffset();
  const publication: Publication = {
    topic: stream.topic,
    payload: { encoding: 'json', text: String(offset) },
    priority: 'normal',
    offset,
    epoch: stream.epoch,
    time: now,
  };
  stream.append(publication, retention, now);
  return publication;
}

const keep = (size: number, ttlMs = 1_000): HistoryRetention => ({ size, ttlMs });

t.test('a new stream is at offset 0 and continuable from there', async (t) => {
  const stream = new TopicStream('a', 'e1');
  t.same(stream.position, { offset: 0, epoch: 'e1' });
  t.same(stream.continueAfter({ offset: 0, epoch: 'e1' }, 10), { recovered: true, publications: [] });
  t.same(stream.latest(10), []);
  t.equal(stream.retainedUntil, undefined);
});

t.test('size keeps the newest publications; a smaller size later trims to it', async (t) => {
  const stream = new TopicStream('a', 'e1');
  for (let i = 0; i < 5; i++) publish(stream, keep(3));
  t.same(stream.latest(10).map((p) => p.offset), [3, 4, 5]);
  publish(stream, keep(1));
  t.same(stream.latest(10).map((p) => p.offset), [6]);
  t.same(stream.continueAfter({ offset: 4, epoch: 'e1' }, 10), { recovered: false, publications: [], failure: 'expired' });
  t.same(stream.continueAfter({ offset: 5, epoch: 'e1' }, 10).publications.map((p) => p.offset), [6]);
});

t.test('TTL trims from the oldest end and stops at the first live publication', async (t) => {
  const stream = new TopicStream('a', 'e1');
  publish(stream, keep(10, 100), 0);
  publish(stream, keep(10, 1_000), 50);
  publish(stream, keep(10, 10), 60);
  stream.trim(100);
  t.same(stream.latest(10).map((p) => p.offset), [2, 3], 'no. 3 is past its TTL but behind a live one: no holes');
  t.equal(stream.retainedUntil, 70);
  stream.trim(1_050);
  t.same(stream.latest(10), []);
});

t.test('continueAfter refuses other epochs, positions ahead, and anything that is not an offset', async (t) => {
  const stream = new TopicStream('a', 'e1');
  publish(stream, keep(10));
  for (const since of [
    { offset: 0, epoch: 'e2' },
    { offset: 2, epoch: 'e1' },
    { offset: -1, epoch: 'e1' },
    { offset: 0.5, epoch: 'e1' },
    { offset: Number.POSITIVE_INFINITY, epoch: 'e1' },
  ]) {
    t.same(stream.continueAfter(since, 10), { recovered: false, publications: [], failure: 'epoch_mismatch' }, JSON.stringify(since));
  }
});

t.test('the failure names what broke the stream last: a trim or a publication not kept', async (t) => {
  const stream = new TopicStream('a', 'e1');
  publish(stream, keep(2));
  publish(stream, undefined);
  publish(stream, keep(2));
  const since0 = { offset: 0, epoch: 'e1' };
  t.same(stream.continueAfter(since0, 10), { recovered: false, publications: [], failure: 'no_history' });
  publish(stream, keep(2));
  publish(stream, keep(2)); // trims offset 3, past the unkept no. 2
  t.same(stream.continueAfter(since0, 10), { recovered: false, publications: [], failure: 'expired' });
});

t.test('property: continueAfter agrees with a model of which offsets are kept', async (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }), { maxLength: 40 }),
      fc.nat(45),
      fc.integer({ min: 0, max: 10 }),
      (sizes, sinceOffset, limit) => {
        const stream = new TopicStream('a', 'e');
        const all: Publication[] = [];
        for (const size of sizes) all.push(publish(stream, size === undefined ? undefined : keep(size)));
        const kept = new Set(stream.latest(Number.MAX_SAFE_INTEGER).map((p) => p.offset));
        const after = all.filter((p) => p.offset > sinceOffset);
        const expectRecovered = sinceOffset <= all.length && after.every((p) => kept.has(p.offset));
        const result = stream.continueAfter({ offset: sinceOffset, epoch: 'e' }, limit);
        if (result.recovered !== expectRecovered) return false;
        const expected = expectRecovered ? after.slice(0, limit).map((p) => p.offset) : [];
        return result.publications.map((p) => p.offset).join() === expected.join();
      },
    ),
    { numRuns: 1000 },
  );
  t.pass();
});
