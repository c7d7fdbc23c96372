import t from 'tap';
import { isWellFormedPattern, isWellFormedTopic, parsePattern, topicMatches } from '../src/index.js';

/**
 * The structure-only checks (no character or length rules) that indexes and stores behind a validating
 * edge apply, and the reference matcher on the same cases.
 */

t.test('topics', async (t) => {
  for (const topic of ['a', 'a.b', 'prices.eur-usd', 'a.b.c.d.e', 'A_1.-.~']) {
    t.ok(isWellFormedTopic(topic), `${JSON.stringify(topic)} is a topic`);
  }
  for (const topic of ['', '.', 'a.', '.a', 'a..b', '*', 'a.*', '>', 'a.>', 'a*', 'a.b>c']) {
    t.notOk(isWellFormedTopic(topic), `${JSON.stringify(topic)} is not a topic`);
  }
});

t.test('patterns', async (t) => {
  for (const pattern of ['a', 'a.b', '*', '>', 'a.*', 'a.>', '*.*.>', '*.b.*', 'a.*.c.>']) {
    t.ok(isWellFormedPattern(pattern), `${JSON.stringify(pattern)} is a pattern`);
  }
  for (const pattern of ['', '.', 'a.', 'a..b', '>.a', 'a.>.b', '>.>', 'a*', '*a', 'a.b*', 'a.>x', '**']) {
    t.notOk(isWellFormedPattern(pattern), `${JSON.stringify(pattern)} is not a pattern`);
  }
  t.match(parsePattern('a.b'), { ok: true, value: { wildcard: false } }, 'an exact pattern names one topic');
  t.match(parsePattern('a.*'), { ok: true, value: { wildcard: true } });
  t.match(parsePattern('>'), { ok: true, value: { wildcard: true } });
});

t.test('reference matcher', async (t) => {
  const cases: [pattern: string, topic: string, matches: boolean][] = [
    ['a.b', 'a.b', true],
    ['a.b', 'a.c', false],
    ['a.b', 'a.b.c', false],
    ['a.b', 'a', false],
    ['a.*', 'a.b', true],
    ['a.*', 'a', false],
    ['a.*', 'a.b.c', false],
    ['*.b', 'a.b', true],
    ['*', 'a', true],
    ['*', 'a.b', false],
    ['a.>', 'a.b', true],
    ['a.>', 'a.b.c.d', true],
    ['a.>', 'a', false],
    ['>', 'a', true],
    ['>', 'a.b.c', true],
    ['*.>', 'a', false],
    ['*.>', 'a.b', true],
    ['a.*.c.>', 'a.x.c.d', true],
    ['a.*.c.>', 'a.x.c', false],
    ['a.*.c.>', 'a.x.y.d', false],
  ];
  for (const [pattern, topic, matches] of cases) {
    t.equal(topicMatches(pattern, topic), matches, `${pattern} ${matches ? 'matches' : 'does not match'} ${topic}`);
  }
});
