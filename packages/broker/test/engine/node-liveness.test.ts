import t from 'tap';
import { NodeLiveness } from '../../src/engine/node-liveness.js';

t.test('the sweep decision: a node is due once its deadline passed, oldest first, until forgotten or back', async (t) => {
  // [beats as [node, at], ttl, now, due, alive]
  const cases: [string, [string, number][], number, number, string[], string[]][] = [
    ['nothing tracked', [], 100, 0, [], []],
    ['within the ttl', [['a', 0]], 100, 99, [], ['a']],
    ['at the deadline', [['a', 0]], 100, 100, ['a'], []],
    ['a later beat extends it', [['a', 0], ['a', 50]], 100, 120, [], ['a']],
    ['oldest deadline first', [['b', 10], ['a', 0], ['c', 200]], 100, 150, ['a', 'b'], ['c']],
    ['all due', [['a', 0], ['b', 0]], 100, 1000, ['a', 'b'], []],
  ];
  for (const [name, beats, ttl, now, due, alive] of cases) {
    const liveness = new NodeLiveness();
    for (const [node, at] of beats) liveness.beat(node, at, ttl);
    t.same(liveness.due(now), due, `${name}: due`);
    t.same(['a', 'b', 'c'].filter((node) => liveness.alive(node, now)), alive, `${name}: alive`);
  }
});

t.test('forget ends tracking; a due node that beats again is alive', async (t) => {
  const liveness = new NodeLiveness();
  liveness.beat('a', 0, 10);
  liveness.beat('b', 0, 10);
  liveness.forget('a');
  t.same(liveness.due(20), ['b']);
  t.equal(liveness.size, 1);
  liveness.beat('b', 20, 10);
  t.same(liveness.due(20), []);
  t.equal(liveness.alive('b', 20), true);
});
