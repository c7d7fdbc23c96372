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
