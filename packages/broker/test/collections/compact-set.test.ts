import fc from 'fast-check';
import t from 'tap';
import { type CompactSet, hasMember, membersOf, sizeOf, withMember, withoutMember } from '../../src/collections/compact-set.js';

t.test('one member as itself, a second makes a Set, order kept', async (t) => {
  let set: CompactSet;
  t.equal(sizeOf(set), 0);
  t.notOk(hasMember(set, 'a'));
  t.same([...membersOf(set)], []);
  set = withMember(withMember(set, 'a'), 'a');
  t.equal(set, 'a', 'one member is the string itself');
  t.equal(sizeOf(set), 1);
  t.ok(hasMember(set, 'a'));
  t.same([...membersOf(set)], ['a']);
  set = withMember(set, 'b');
  t.same([...membersOf(set)], ['a', 'b']);
  t.ok(hasMember(set, 'b'));
  set = withoutMember(set, 'a');
  t.equal(set, 'b', 'a Set left with one member becomes that member');
  t.equal(withoutMember(set, 'a'), 'b', 'deleting a non-member changes nothing');
  set = withoutMember(set, 'b');
  t.equal(set, undefined);
  t.equal(sizeOf(set), 0);
});

t.test('a Set emptied by deletes is nothing again', async (t) => {
  let set: CompactSet = withMember(withMember(withMember(undefined, 'a'), 'b'), 'c');
  for (const member of ['b', 'a', 'c']) set = withoutMember(set, member);
  t.equal(set, undefined);
});

t.test('property: behaves like a Set under add and delete', async (t) => {
  const operation = fc.record({ op: fc.constantFrom<'add' | 'delete'>('add', 'delete'), value: fc.integer({ min: 0, max: 5 }).map(String) });
  fc.assert(
    fc.property(fc.array(operation, { maxLength: 100 }), (operations) => {
      let compact: CompactSet;
      const model = new Set<string>();
      for (const { op, value } of operations) {
        if (op === 'add') {
          compact = withMember(compact, value);
          model.add(value);
        } else {
          compact = withoutMember(compact, value);
          model.delete(value);
        }
        if (sizeOf(compact) !== model.size || hasMember(compact, value) !== model.has(value)) return false;
      }
      return JSON.stringify([...membersOf(compact)]) === JSON.stringify([...model]);
    }),
  );
});
