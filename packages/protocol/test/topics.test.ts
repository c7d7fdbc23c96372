import fc from 'fast-check';
import t from 'tap';
import { isValidPattern, isValidTopic, parsePattern, parseTopic, ProtocolErrorCode, topicMatches } from '../src/index.js';

const segment16 = Array.from({ length: 16 }, (_, index) => `s${index}`);

t.test('topics (protocol.md §4): valid', async (t) => {
  const valid = [
    'a',
    'orders.eu.1',
    'A-Z_a:z@0-9',
    'user@example:com.inbox',
    'x'.repeat(255),
    segment16.join('.'),
    `${'a'.repeat(253)}.b`,
  ];
  for (const topic of valid) {
    const parsed = parseTopic(topic);
    t.ok(parsed.ok, `${JSON.stringify(topic.slice(0, 30))} is a topic`);
    if (parsed.ok) t.same(parsed.value.segments, topic.split('.'));
    t.ok(isValidTopic(topic));
  }
});

t.test('topics (protocol.md §4): invalid, each with the reason', async (t) => {
  const invalid: [topic: string, reason: RegExp][] = [
    ['', /empty/],
    ['.', /segment 1 is empty/],
    ['a.', /segment 2 is empty/],
    ['.a', /segment 1 is empty/],
    ['a..b', /segment 2 is empty/],
    ['x'.repeat(256), /256 characters long; the limit is 255/],
    [[...segment16, 's16'].join('.'), /17 segments; the limit is 16/],
    ['a.*', /wildcard '\*'.*concrete topic/],
    ['a.>', /wildcard '>'/],
    ['a*', /wildcard '\*'/],
    ['a b', /U\+0020/],
    ['a/b', /'\/' \(U\+002F\)/],
    ['a#', /'#'/],
    ['a~b', /'~'/],
    ['a+b', /'\+'/],
    ['café', /U\+00E9/],
    ['a\u0000', /U\+0000/],
    ['emoji.😀', /U\+D83D/],
  ];
  for (const [topic, reason] of invalid) {
    const parsed = parseTopic(topic);
    t.notOk(parsed.ok, `${JSON.stringify(topic.slice(0, 30))} is not a topic`);
    if (!parsed.ok) {
      t.equal(parsed.error.code, ProtocolErrorCode.invalidTopic);
      t.match(parsed.error.message, reason);
    }
    t.notOk(isValidTopic(topic));
  }
});

t.test('patterns (protocol.md §4): valid', async (t) => {
  const valid: [pattern: string, wildcard: boolean][] = [
    ['a', false],
    ['a.b', false],
    ['*', true],
    ['>', true],
    ['a.*', true],
    ['a.>', true],
    ['*.*.>', true],
    ['*.b.*', true],
    ['a.*.c.>', true],
    [segment16.join('.'), false],
    [Array.from({ length: 16 }, () => '*').join('.'), true],
  ];
  for (const [pattern, wildcard] of valid) {
    const parsed = parsePattern(pattern);
    t.ok(parsed.ok, `${JSON.stringify(pattern)} is a pattern`);
    if (parsed.ok) t.equal(parsed.value.wildcard, wildcard, `${pattern} wildcard: ${wildcard}`);
    t.ok(isValidPattern(pattern));
  }
});

t.test('patterns (protocol.md §4): invalid, each with the reason', async (t) => {
  const invalid: [pattern: string, reason: RegExp][] = [
    ['', /empty/],
    ['a..b', /segment 2 is empty/],
    ['a.', /segment 2 is empty/],
    ['>.a', /'>' is only allowed as the last segment/],
    ['a.>.b', /'>' is only allowed as the last segment/],
    ['>.>', /'>' is only allowed as the last segment/],
    ['a*', /mixes the wildcard '\*'/],
    ['*a', /mixes the wildcard '\*'/],
    ['**', /mixes the wildcard '\*'/],
    ['a.>x', /mixes the wildcard '>'/],
    ['a.#', /'#'/],
    ['*'.repeat(1) + '.*'.repeat(16), /17 segments/],
    ['a.' + 'b'.repeat(254), /256 characters/],
  ];
  for (const [pattern, reason] of invalid) {
    const parsed = parsePattern(pattern);
    t.notOk(parsed.ok, `${JSON.stringify(pattern.slice(0, 30))} is not a pattern`);
    if (!parsed.ok) {
      t.equal(parsed.error.code, ProtocolErrorCode.invalidTopic);
      t.match(parsed.error.message, reason);
    }
  }
});

t.test('matching: the table from protocol.md §4 and more', async (t) => {
  const cases: [pattern: string, topic: string, matches: boolean][] = [
    ['orders.eu', 'orders.eu', true],
    ['orders.eu', 'orders.eu.1', false],
    ['orders.eu', 'Orders.eu', false],
    ['orders.eu', 'orders', false],
    ['orders.*', 'orders.eu', true],
    ['orders.*', 'orders.us', true],
    ['orders.*', 'orders', false],
    ['orders.*', 'orders.eu.1', false],
    ['orders.>', 'orders.eu', true],
    ['orders.>', 'orders.eu.1', true],
    ['orders.>', 'orders', false],
    ['orders.>', 'order.eu', false],
    ['*.eu.>', 'orders.eu.1', true],
    ['*.eu.>', 'users.eu.a.b', true],
    ['*.eu.>', 'orders.eu', false],
    ['*.eu.>', 'orders.us.1', false],
    ['>', 'a', true],
    ['>', 'a.b.c', true],
    ['*', 'a', true],
    ['*', 'a.b', false],
    ['*.*', 'a.b', true],
    ['*.*', 'a', false],
    ['a.*.c', 'a.b.c', true],
    ['a.*.c', 'a.b.d', false],
    ['a.*.>', 'a.b.c.d', true],
    ['a.*.>', 'a.b', false],
    // Invalid input never matches.
    ['a.>.b', 'a.x.b', false],
    ['a.*', 'a.*', false],
    ['a', 'a.*', false],
    ['a..b', 'a..b', false],
  ];
  for (const [pattern, topic, matches] of cases) {
    t.equal(topicMatches(pattern, topic), matches, `${pattern} ${matches ? 'matches' : 'does not match'} ${topic}`);
  }
});

const segmentArbitrary = fc.stringMatching(/^[A-Za-z0-9_\-:@]{1,6}$/);
const topicArbitrary = fc.array(segmentArbitrary, { minLength: 1, maxLength: 8 }).map((segments) => segments.join('.'));

t.test('matching properties', async (t) => {
  fc.assert(
    fc.property(topicArbitrary, (topic) => {
      const segments = topic.split('.');
      if (!topicMatches(topic, topic)) return false;
      if (!topicMatches('>', topic)) return false;
      // Every segment replaced by '*' still matches, and so does any prefix followed by '>'.
      if (!topicMatches(segments.map(() => '*').join('.'), topic)) return false;
      for (let keep = 0; keep < segments.length; keep++) {
        if (!topicMatches([...segments.slice(0, keep), '>'].join('.'), topic)) return false;
      }
      // '>' needs at least one more segment; '*' exactly one.
      if (topicMatches(`${topic}.>`, topic) || topicMatches(`${topic}.*`, topic)) return false;
      return true;
    }),
  );
  t.pass('properties hold');
});
