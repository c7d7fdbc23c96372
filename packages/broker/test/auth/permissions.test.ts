import { isValidPattern, topicMatches } from '@switchboard/protocol';
import fc from 'fast-check';
import t from 'tap';
import { covers, Permissions } from '../../src/auth/permissions.js';

/** Grants by pattern: a publish needs a grant that matches the topic, a subscribe one that covers the pattern. */

const split = (text: string) => text.split('.');

t.test('covers: a grant covers a pattern when it matches every topic the pattern can match', async (t) => {
  const table: [string, string, boolean][] = [
    ['>', 'a', true],
    ['>', 'a.*.>', true],
    ['a.>', 'a.b', true],
    ['a.>', 'a.*', true],
    ['a.>', 'a.>', true],
    ['a.>', 'a', false],
    ['a.*', 'a.b', true],
    ['a.*', 'a.*', true],
    ['a.*', 'a.>', false],
    ['a.*', 'a.b.c', false],
    ['a.b', 'a.*', false],
    ['a.b', 'a.b', true],
    ['*.b', 'a.b', true],
    ['*.b', '*.b', true],
    ['*.b', '>', false],
    ['a.*.c', 'a.*.c', true],
    ['a.*.c', 'a.*.>', false],
  ];
  for (const [grant, pattern, expected] of table) t.equal(covers(split(grant), split(pattern)), expected, `${grant} covers ${pattern}: ${expected}`);
});

t.test('covers agrees with matching: if a grant covers a pattern, it matches every topic the pattern matches', async (t) => {
  const segment = fc.constantFrom('a', 'b', '*');
  const pattern = fc
    .tuple(fc.array(segment, { minLength: 1, maxLength: 3 }), fc.boolean())
    .map(([segments, tail]) => (tail ? [...segments, '>'] : segments).join('.'))
    .filter(isValidPattern);
  const topic = fc.array(fc.constantFrom('a', 'b', 'c'), { minLength: 1, maxLength: 5 }).map((segments) => segments.join('.'));
  fc.assert(
    fc.property(pattern, pattern, topic, (grant, requested, candidate) => {
      if (covers(split(grant), split(requested)) && topicMatches(requested, candidate)) return topicMatches(grant, candidate);
      return true;
    }),
    { numRuns: 5000 },
  );
  t.pass('5000 random grant/pattern/topic triples');
});

t.test('Permissions: publish by match, subscribe by cover; no grants, nothing allowed', async (t) => {
  const permissions = new Permissions({ publish: ['chat.alice.>'], subscribe: ['chat.*.>', 'news'] });
  t.ok(permissions.canPublish('chat.alice.room'));
  t.notOk(permissions.canPublish('chat.bob.room'));
  t.ok(permissions.canSubscribe('chat.bob.>'));
  t.ok(permissions.canSubscribe('news'));
  t.notOk(permissions.canSubscribe('news.>'));
  t.notOk(permissions.canSubscribe('chat.>'));
  const none = new Permissions({ publish: [], subscribe: [] });
  t.notOk(none.canPublish('a'));
  t.notOk(none.canSubscribe('a'));
});
