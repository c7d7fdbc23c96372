import fc from 'fast-check';
import t from 'tap';
import { Deque } from '../../src/collections/deque.js';

t.test('push, shift and index across growth and wrap-around', async (t) => {
  const deque = new Deque<number>(2);
  deque.push(1);
  deque.push(2);
  t.equal(deque.shift(), 1);
  deque.push(3); // wraps
  deque.push(4); // grows
  t.same([...deque.values()], [2, 3, 4]);
  t.equal(deque.at(0), 2);
  t.equal(deque.at(2), 4);
  t.equal(deque.at(3), undefined);
  t.equal(deque.at(-1), undefined);
  t.equal(deque.at(0.5), undefined);
  t.equal(deque.peekFront(), 2);
  t.equal(deque.peekBack(), 4);
  t.equal(deque.length, 3);
  deque.shift();
  deque.shift();
  deque.shift();
  t.equal(deque.shift(), undefined);
  t.equal(deque.peekBack(), undefined);
});

t.test('property: behaves like an array under push and shift', async (t) => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.constant<'shift'>('shift'), fc.integer()), { maxLength: 200 }), (operations) => {
      const deque = new Deque<number>(1);
      const model: number[] = [];
      for (const operation of operations) {
        if (operation === 'shift') {
          if (deque.shift() !== model.shift()) return false;
        } else {
          deque.push(operation);
          model.push(operation);
        }
      }
      return deque.length === model.length && model.every((value, index) => deque.at(index) === value);
    }),
  );
  t.pass();
});
