import fc from 'fast-check';
import t from 'tap';
import { LinkedList, type ListNode } from '../../src/collections/linked-list.js';

t.test('push, remove from head, middle and tail', async (t) => {
  const list = new LinkedList<string>();
  const a = list.push('a');
  const b = list.push('b');
  const c = list.push('c');
  t.same([...list.values()], ['a', 'b', 'c']);
  list.remove(b);
  t.same([...list.values()], ['a', 'c']);
  list.remove(a);
  t.equal(list.first?.value, 'c');
  list.remove(c);
  t.equal(list.size, 0);
  t.equal(list.first, undefined);
  list.push('d');
  t.same([...list.values()], ['d']);
});

t.test('removing a stale node or a node of another list does nothing', async (t) => {
  const list = new LinkedList<number>();
  const other = new LinkedList<number>();
  const node = list.push(1);
  const foreign = other.push(2);
  list.remove(node);
  list.remove(node);
  list.remove(foreign);
  t.equal(list.size, 0);
  t.equal(other.size, 1);
  other.clear();
  t.equal(other.size, 0);
  t.equal(foreign.list, undefined);
});

t.test('property: behaves like an array under push and remove', async (t) => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.constant(-1), fc.nat(50)), { maxLength: 100 }), (operations) => {
      const list = new LinkedList<number>();
      const model: ListNode<number>[] = [];
      let nextValue = 0;
      for (const operation of operations) {
        if (operation === -1 || model.length === 0) model.push(list.push(nextValue++));
        else {
          const [node] = model.splice(operation % model.length, 1);
          if (node !== undefined) list.remove(node);
        }
      }
      return list.size === model.length && [...list.values()].join() === model.map((n) => n.value).join();
    }),
  );
  t.pass();
});
