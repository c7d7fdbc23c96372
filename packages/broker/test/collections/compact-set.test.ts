import fc from 'fast-check';
import t from 'tap';
import { CompactSet } from '../../src/collections/compact-set.js';

t.test('one member inline, a second makes a Set, order kept', async (t) => {
  const set = new CompactSet<string>();
  t.equal(set.size, 0);
  t.notOk(set.has('a'));
  t.same([...set], []);
  set.add('a').add('a');
  t.equal(set.size, 1);
  t.ok(set.has('a'));
  t.same([...set], ['a']);
  set.add('b');
  t.same([...set], ['a', 'b']);
  t.ok(set.delete('a'));
  t.notOk(set.delete('a'));
  t.same([...set], ['b']);
  set.clear();
  t.equal(set.size, 0);
  t.same([...set], []);
});

t.test('deleting the member being visited while iterating', async (t) => {
  for (const members of [['a'], ['a', 'b', 'c']]) {
    const set = new CompactSet<string>();
    for (const member of members) set.add(member);
    const visited: string[] = [];
    for (const member of set) {
      visited.push(member);
      set.delete(member);
    }
    t.same(visited, members);
    t.equal(set.size, 0);
  }
});

t.test('property: behaves like a Set under add, delete and clear', async (t) => {
  const operation = fc.oneof(
    fc.record({ op: fc.constant<'add'>('add'), value: fc.integer({ min: 0, max: 5 }) }),
    fc.record({ op: fc.constant<'delete'>('delete'), value: fc.integer({ min: 0, max: 5 }) }),
    fc.record({ op: fc.constant<'clear'>('clear'), value: fc.constant(0) }),
  );
  fc.assert(
    fc.property(fc.array(operation, { maxLength: 100 }), (operations) => {
      const compact = new CompactSet<number>();
      const model = new Set<number>();
      for (const { op, value } of operations) {
        if (op === 'add') {
          compact.add(value);
          model.add(value);
        } else if (op === 'delete') {
          if (compact.delete(value) !== model.delete(value)) return false;
        } else {
          compact.clear();
          model.clear();
        }
        if (compact.size !== model.size || compact.has(value) !== model.has(value)) return false;
      }
      return JSON.stringify([...compact]) === JSON.stringify([...model]);
    }),
  );
});
