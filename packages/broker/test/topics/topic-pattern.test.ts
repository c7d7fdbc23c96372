import t from 'tap';
import { BrokerErrorCode } from '../../src/errors.js';
import {
  assertValidPattern,
  assertValidTopic,
  isValidPattern,
  isValidTopic,
  isWildcardPattern,
  patternMatches,
} from '../../src/topics/topic-pattern.js';

t.test('topics', async (t) => {
  for (const topic of ['a', 'a.b', 'prices.eur-usd', 'a.b.c.d.e', 'A_1.-.~']) {
    t.ok(isValidTopic(topic), `${JSON.stringify(topic)} is a topic`);
  }
  for (const topic of ['', '.', 'a.', '.a', 'a..b', '*', 'a.*', '>', 'a.>', 'a*', 'a.b>c']) {
    t.notOk(isValidTopic(topic), `${JSON.stringify(topic)} is not a topic`);
  }
  t.throws(() => assertValidTopic('a..b'), { code: BrokerErrorCode.invalidTopic });
  t.doesNotThrow(() => assertValidTopic('a.b'));
});

t.test('patterns', async (t) => {
  for (const pattern of ['a', 'a.b', '*', '>', 'a.*', 'a.>', '*.*.>', '*.b.*', 'a.*.c.>']) {
    t.ok(isValidPattern(pattern), `${JSON.stringify(pattern)} is a pattern`);
  }
  for (const pattern of ['', '.', 'a.', 'a..b', '>.a', 'a.>.b', '>.>', 'a*', '*a', 'a.b*', 'a.>x', '**']) {
    t.notOk(isValidPattern(pattern), `${JSON.stringify(pattern)} is not a pattern`);
  }
  t.throws(() => assertValidPattern('a.>.b'), { code: BrokerErrorCode.invalidPattern });
  t.doesNotThrow(() => assertValidPattern('a.>'));
  t.notOk(isWildcardPattern('a.b'));
  t.ok(isWildcardPattern('a.*'));
  t.ok(isWildcardPattern('>'));
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
    t.equal(patternMatches(pattern, topic), matches, `${pattern} ${matches ? 'matches' : 'does not match'} ${topic}`);
  }
});
