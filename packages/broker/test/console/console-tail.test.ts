import t from 'tap';
import { ConsoleTail } from '../../src/console/console-tail.js';
import type { Publication } from '../../src/engine/engine.js';
import type { Delivery } from '../../src/hub/delivery.js';

/** The tail's ring: drop-oldest, previews cut without keeping the payload, reads by seq. */

const now = () => 1_000;

function delivery(offset: number, payload: Publication['payload'], topic = 'a.b'): Delivery {
  const publication: Publication = { topic, epoch: 'e1', offset, priority: 'normal', time: 500 + offset, payload };
  return { publication } as Delivery;
}

const json = (text: string): Publication['payload'] => ({ encoding: 'json', text });

t.test('reads return the entries after a seq, oldest first', async (t) => {
  const tail = new ConsoleTail('a.>', { capacity: 4, previewBytes: 16, now });
  t.same(tail.read(0), { entries: [], missed: 0, last: 0 });
  tail.deliver(delivery(1, json('1')));
  tail.deliver(delivery(2, json('2')));
  const read = tail.read(0);
  t.same(read.entries.map((entry) => entry.seq), [1, 2]);
  t.match(read.entries[0], { kind: 'message', topic: 'a.b', epoch: 'e1', offset: 1, priority: 'normal', time: 501, encoding: 'json', preview: '1', truncated: false, bytes: 1 });
  t.same(tail.read(2), { entries: [], missed: 0, last: 2 });
  t.same(tail.read(1).entries.map((entry) => entry.seq), [2]);
});

t.test('a full ring overwrites the oldest entry and a late reader learns how many it missed', async (t) => {
  const tail = new ConsoleTail('a.>', { capacity: 3, previewBytes: 16, now });
  for (let offset = 1; offset <= 10; offset++) tail.deliver(delivery(offset, json(String(offset))));
  const read = tail.read(0);
  t.same(read.entries.map((entry) => entry.seq), [8, 9, 10]);
  t.equal(read.missed, 7);
  t.equal(read.last, 10);
  t.equal(tail.read(8).missed, 0);
  t.same(tail.read(8).entries.map((entry) => entry.seq), [9, 10]);
});

t.test('previews: long JSON is cut, binary is base64 of its first bytes, gaps are entries too', async (t) => {
  const tail = new ConsoleTail('a.>', { capacity: 8, previewBytes: 4, now });
  tail.deliver(delivery(1, json('"abcdefgh"')));
  tail.deliver(delivery(2, { encoding: 'binary', bytes: Uint8Array.of(1, 2, 3, 4, 5, 6) }));
  tail.notifyGap({ topic: 'a.b', epoch: 'e1', from: 3, to: 5 });
  t.match(tail.read(0).entries, [
    { preview: '"abc', truncated: true, bytes: 10, encoding: 'json' },
    { preview: Buffer.from([1, 2, 3, 4]).toString('base64'), truncated: true, bytes: 6, encoding: 'binary' },
    { kind: 'gap', topic: 'a.b', from: 3, to: 5, time: 1_000 },
  ]);
});
