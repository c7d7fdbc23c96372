import t from 'tap';
import type { StreamPosition } from '../../src/engine/engine.js';
import { RecoveryGate } from '../../src/history/recovery-gate.js';

/** The gate that holds live deliveries of recovering topics until their replay is queued (protocol.md §6). */

interface Item extends StreamPosition {
  readonly topic: string;
  readonly bytes: number;
}

const item = (topic: string, offset: number, bytes = 10, epoch = 'e1'): Item => ({ topic, offset, epoch, bytes });

function gate(maxHeldBytes?: number): RecoveryGate<Item> {
  return new RecoveryGate<Item>({ positionOf: (held) => held, weigh: (held) => held.bytes, ...(maxHeldBytes === undefined ? {} : { maxHeldBytes }) });
}

t.test('a topic not held passes', async (t) => {
  const g = gate();
  t.equal(g.admit('a', item('a', 1)), 'pass');
  t.equal(g.heldBytes, 0);
  t.same(g.release('a'), [], 'releasing a topic never held gives nothing');
});

t.test('a held topic keeps its items in order until released; other topics pass', async (t) => {
  const g = gate();
  t.ok(g.hold('a'));
  t.ok(g.holds('a'));
  t.equal(g.admit('a', item('a', 1)), 'held');
  t.equal(g.admit('b', item('b', 1)), 'pass');
  t.equal(g.admit('a', item('a', 2)), 'held');
  t.equal(g.heldBytes, 20);
  t.same(
    g.release('a').map((held) => held.offset),
    [1, 2],
  );
  t.notOk(g.holds('a'));
  t.equal(g.heldBytes, 0);
  t.equal(g.admit('a', item('a', 3)), 'pass', 'released: live again');
});

t.test('hold is refused while the topic is held already, and keeps what it holds', async (t) => {
  const g = gate();
  t.ok(g.hold('a'));
  g.admit('a', item('a', 1));
  t.notOk(g.hold('a'));
  t.same(
    g.release('a').map((held) => held.offset),
    [1],
  );
});

t.test('release drops what the covered position accounts for, in its epoch only', async (t) => {
  const g = gate();
  g.hold('a');
  for (const held of [item('a', 3), item('a', 4), item('a', 5), item('a', 1, 10, 'e2')]) g.admit('a', held);
  t.same(
    g.release('a', { epoch: 'e1', offset: 4 }).map((held) => `${held.epoch}:${held.offset}`),
    ['e1:5', 'e2:1'],
  );
  t.equal(g.heldBytes, 0, 'covered items are no longer counted either');
});

t.test('the cap: held bytes over it answer overflow (the item is still held)', async (t) => {
  const g = gate(25);
  g.hold('a');
  g.hold('b');
  t.equal(g.admit('a', item('a', 1)), 'held');
  t.equal(g.admit('b', item('b', 1)), 'held');
  t.equal(g.heldBytes, 20);
  t.equal(g.admit('a', item('a', 2, 5)), 'held', 'exactly at the cap is fine');
  t.equal(g.admit('b', item('b', 2, 1)), 'overflow', 'one byte over: overflow, counted over all topics');
  t.equal(g.heldBytes, 26);
  t.equal(g.release('b').length, 2);
  t.equal(g.heldBytes, 15);
  t.equal(g.admit('c', item('c', 1, 1000)), 'pass', 'topics not held never count');
});

t.test('without weigh or cap nothing overflows', async (t) => {
  const g = new RecoveryGate<Item>({ positionOf: (held) => held });
  g.hold('a');
  const admissions = new Set(Array.from({ length: 1000 }, (_, index) => g.admit('a', item('a', index + 1, 1e9))));
  t.same([...admissions], ['held']);
  t.equal(g.heldBytes, 0);
  t.equal(g.release('a').length, 1000);
});

t.test('clear forgets every topic and byte', async (t) => {
  const g = gate();
  g.hold('a');
  g.admit('a', item('a', 1));
  g.clear();
  t.equal(g.heldBytes, 0);
  t.notOk(g.holds('a'));
  t.equal(g.admit('a', item('a', 2)), 'pass');
});

t.test('after a release with a position, live items the engine still carried from before it are covered', async (t) => {
  const g = gate();
  g.hold('a');
  t.same(g.release('a', { epoch: 'e1', offset: 5 }), [], 'nothing arrived while held');
  t.equal(g.admit('a', item('a', 4)), 'covered', 'older than the release: the replay or the answer had it');
  t.equal(g.admit('a', item('a', 5)), 'covered');
  t.equal(g.admit('b', item('b', 1)), 'pass', 'other topics are not affected');
  t.equal(g.admit('a', item('a', 6)), 'pass', 'the first newer one passes');
  t.equal(g.admit('a', item('a', 3)), 'pass', 'and ends the check: the engine delivers a topic in order');

  g.hold('a');
  t.equal(g.admit('a', item('a', 9)), 'held');
  t.same(g.release('a', { epoch: 'e1', offset: 8 }).map((held) => held.offset), [9]);
  t.equal(g.admit('a', item('a', 7)), 'pass', 'a newer one was released already: nothing older can follow');

  g.hold('a');
  g.release('a', { epoch: 'e1', offset: 20 });
  t.equal(g.admit('a', item('a', 1, 10, 'e2')), 'pass', 'another epoch is not covered');
  g.hold('b');
  g.release('b', { epoch: 'e1', offset: 20 });
  g.clear();
  t.equal(g.admit('b', item('b', 2)), 'pass', 'clear forgets the positions too');
  t.same(g.release('a'), [], 'a release without a position sets none');
  t.equal(g.admit('a', item('a', 1)), 'pass');
});
