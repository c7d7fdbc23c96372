import fc from 'fast-check';
import t from 'tap';
import { topicMatches } from '@switchboard/protocol';
import { BrokerErrorCode } from '../../src/errors.js';
import { TopicTrie } from '../../src/topics/topic-trie.js';

function matchList<S>(trie: TopicTrie<S>, topic: string): S[] {
  const visited: S[] = [];
  trie.match(topic, (subscriber) => visited.push(subscriber));
  return visited;
}

t.test('exact patterns', async (t) => {
  const trie = new TopicTrie<string>();
  trie.add('a.b', 's1');
  trie.add('a.c', 's2');
  t.same([...trie.match('a.b')], ['s1']);
  t.same([...trie.match('a.c')], ['s2']);
  t.same([...trie.match('a')], [], 'a prefix of a pattern does not match');
  t.same([...trie.match('a.b.c')], [], 'a longer topic does not match');
});

t.test('`*` matches exactly one segment', async (t) => {
  const trie = new TopicTrie<string>();
  trie.add('a.*.c', 's1');
  t.same([...trie.match('a.b.c')], ['s1']);
  t.same([...trie.match('a.x.c')], ['s1']);
  t.same([...trie.match('a.c')], []);
  t.same([...trie.match('a.b.b.c')], []);
  trie.add('*', 's2');
  t.same([...trie.match('z')], ['s2']);
  t.same([...trie.match('z.z')], []);
});

t.test('`>` matches one or more trailing segments', async (t) => {
  const trie = new TopicTrie<string>();
  trie.add('a.>', 's1');
  t.same([...trie.match('a.b')], ['s1']);
  t.same([...trie.match('a.b.c.d')], ['s1']);
  t.same([...trie.match('a')], [], '`>` needs at least one segment');
  trie.add('>', 's2');
  t.same([...trie.match('a')], ['s2']);
  t.same([...trie.match('a.b')].sort(), ['s1', 's2']);
});

t.test('a subscriber whose patterns overlap is visited once', async (t) => {
  const trie = new TopicTrie<string>();
  for (const pattern of ['a.b', 'a.*', 'a.>', '*.b', '>', '*.*']) trie.add(pattern, 'same');
  trie.add('a.b', 'other');
  t.same(matchList(trie, 'a.b').sort(), ['other', 'same']);
  t.same([...trie.match('a.b')].sort(), ['other', 'same']);
  t.same(matchList(trie, 'a.b.c'), ['same']);
});

t.test('add and remove report the first and last subscriber of a pattern', async (t) => {
  const trie = new TopicTrie<string>();
  t.equal(trie.add('a.*', 's1'), true, 'first subscriber: subscribe upstream');
  t.equal(trie.add('a.*', 's2'), false);
  t.equal(trie.add('a.*', 's2'), false, 'adding the same pair again is a no-op');
  t.equal(trie.size, 2);
  t.equal(trie.patternCount, 1);
  t.ok(trie.has('a.*', 's1'));
  t.same([...(trie.subscribersOf('a.*') ?? [])], ['s1', 's2']);
  t.equal(trie.remove('a.*', 's1'), false, 'others remain');
  t.equal(trie.remove('a.*', 's1'), false, 'removing an absent pair changes nothing');
  t.equal(trie.remove('a.*', 's2'), true, 'last subscriber: unsubscribe upstream');
  t.equal(trie.remove('a.*', 's2'), false, 'already gone');
  t.equal(trie.remove('never.added', 's1'), false);
  t.equal(trie.size, 0);
  t.equal(trie.patternCount, 0);
  t.same([...trie.patterns()], []);
  t.equal(trie.subscribersOf('a.*'), undefined);
});

t.test('removing every pattern prunes the trie back to its root', async (t) => {
  const trie = new TopicTrie<number>();
  const patterns = ['a.b.c', 'a.b', 'a.*.c', 'a.>', '*.>', '>', 'x.y.z.w'];
  patterns.forEach((pattern, index) => trie.add(pattern, index));
  t.ok(trie.nodeCount > 1);
  // Removing a leaf keeps the shared prefix alive for the others.
  trie.remove('a.b.c', 0);
  t.same([...trie.match('a.b')].sort(), [1, 3, 4, 5]);
  patterns.forEach((pattern, index) => trie.remove(pattern, index));
  t.equal(trie.nodeCount, 1);
  t.same([...trie.match('a.b')], []);
});

t.test('patterns() lists patterns in the order they were first added', async (t) => {
  const trie = new TopicTrie<string>();
  trie.add('b', 's');
  trie.add('a.>', 's');
  trie.add('b', 't');
  t.same([...trie.patterns()], ['b', 'a.>']);
});

t.test('invalid patterns are rejected with a stable code', async (t) => {
  const trie = new TopicTrie<string>();
  for (const pattern of ['', 'a..b', 'a.>.b', 'a*']) {
    t.throws(() => trie.add(pattern, 's'), { code: BrokerErrorCode.invalidPattern }, JSON.stringify(pattern));
  }
  t.equal(trie.nodeCount, 1, 'a rejected pattern leaves nothing behind');
});

t.test('a topic with a wildcard segment never matches literal patterns', async (t) => {
  const trie = new TopicTrie<string>();
  trie.add('a.b', 's1');
  trie.add('a.*', 's2');
  t.same([...trie.match('a.*')], ['s2']);
});

t.test('hasMatch', async (t) => {
  const trie = new TopicTrie<true>();
  t.notOk(trie.hasMatch('a'));
  trie.add('a.*.c', true);
  t.ok(trie.hasMatch('a.b.c'));
  t.notOk(trie.hasMatch('a.b'));
  trie.add('x.>', true);
  t.ok(trie.hasMatch('x.y.z'));
  t.notOk(trie.hasMatch('x'));
});

// Small alphabets so random patterns and topics actually meet.
const literalSegment = fc.constantFrom('a', 'b', 'c');
const topicArbitrary = fc.array(literalSegment, { minLength: 1, maxLength: 5 }).map((s) => s.join('.'));
const patternArbitrary = fc
  .tuple(fc.array(fc.constantFrom('a', 'b', 'c', '*'), { minLength: 1, maxLength: 5 }), fc.boolean())
  .map(([segments, tail]) => (tail ? [...segments.slice(0, -1), '>'] : segments).join('.'));
const operationArbitrary = fc.record({
  kind: fc.constantFrom('add', 'add', 'add', 'remove'),
  pattern: patternArbitrary,
  subscriber: fc.integer({ min: 0, max: 5 }),
});

t.test('property: the trie agrees with the reference matcher and a plain model', async (t) => {
  fc.assert(
    fc.property(fc.array(operationArbitrary, { maxLength: 60 }), fc.array(topicArbitrary, { maxLength: 20 }), (operations, topics) => {
      const trie = new TopicTrie<number>();
      const model = new Map<string, Set<number>>();
      for (const { kind, pattern, subscriber } of operations) {
        const subscribers = model.get(pattern) ?? new Set<number>();
        if (kind === 'add') {
          const wasNew = subscribers.size === 0;
          subscribers.add(subscriber);
          model.set(pattern, subscribers);
          if (trie.add(pattern, subscriber) !== wasNew) return false;
        } else {
          const becomesEmpty = subscribers.size === 1 && subscribers.has(subscriber);
          subscribers.delete(subscriber);
          if (subscribers.size === 0) model.delete(pattern);
          if (trie.remove(pattern, subscriber) !== becomesEmpty) return false;
        }
      }
      if (trie.patternCount !== model.size) return false;
      if (trie.size !== [...model.values()].reduce((sum, s) => sum + s.size, 0)) return false;
      if ([...trie.patterns()].sort().join() !== [...model.keys()].sort().join()) return false;
      for (const topic of topics) {
        const expected = new Set<number>();
        for (const [pattern, subscribers] of model) {
          if (topicMatches(pattern, topic)) for (const s of subscribers) expected.add(s);
        }
        const visited = matchList(trie, topic);
        if (visited.length !== new Set(visited).size) return false; // each subscriber once
        if ([...visited].sort().join() !== [...expected].sort().join()) return false;
        if ([...trie.match(topic)].sort().join() !== [...expected].sort().join()) return false;
        if (trie.hasMatch(topic) !== expected.size > 0) return false;
      }
      // Removing everything prunes back to the root: no leaked nodes.
      for (const [pattern, subscribers] of model) for (const s of subscribers) trie.remove(pattern, s);
      return trie.nodeCount === 1 && trie.size === 0;
    }),
    { numRuns: 500 },
  );
  t.pass('500 random histories agree');
});

t.test('100k mixed subscriptions: matching visits only matching branches', async (t) => {
  const trie = new TopicTrie<number>();
  for (let i = 0; i < 100_000; i++) {
    const region = `r${i % 50}`;
    const device = `d${i}`;
    const kind = i % 10;
    const pattern =
      kind < 6 ? `telemetry.${region}.${device}.temp` : kind < 8 ? `telemetry.${region}.*.temp` : `telemetry.${region}.${device}.>`;
    trie.add(pattern, i);
  }
  t.equal(trie.size, 100_000);
  const matched = trie.match('telemetry.r7.d7.temp');
  // d7 is kind 7 (a `*` pattern), plus every `*` pattern of region r7 (i % 50 == 7, i % 10 in {6, 7}).
  const expected = new Set<number>();
  for (let i = 7; i < 100_000; i += 50) if (i % 10 === 6 || i % 10 === 7) expected.add(i);
  t.same([...matched].sort((a, b) => a - b), [...expected].sort((a, b) => a - b));
});

t.test('reserved roots (protocol.md §14.2): a wildcard-first pattern never matches a topic under them', async (t) => {
  const trie = new TopicTrie<string>({ reservedRoots: ['user'] });
  for (const [pattern, subscriber] of [['>', 'all'], ['*.alice', 'star'], ['user.>', 'users'], ['user.alice', 'alice'], ['user.*', 'any-user']]) {
    trie.add(pattern as string, subscriber as string);
  }
  t.same([...trie.match('user.alice')].sort(), ['alice', 'any-user', 'users'], 'only patterns naming the root');
  t.same(matchList(trie, 'user.alice').sort(), ['alice', 'any-user', 'users'], 'the visiting form agrees');
  t.ok(trie.hasMatch('user.bob'), 'user.> and user.* name the root');
  t.same([...trie.match('chat.alice')].sort(), ['all', 'star'], 'other roots keep the usual rules');
  trie.remove('user.>', 'users');
  trie.remove('user.*', 'any-user');
  t.notOk(trie.hasMatch('user.bob'), '> does not reach user.bob');
  const plain = new TopicTrie<string>();
  plain.add('>', 'all');
  t.same([...plain.match('user.alice')], ['all'], 'without reserved roots, > matches everything');
});

t.test('reserved roots agree with the reference matcher plus the rule, over random patterns and topics', async (t) => {
  const segment = fc.constantFrom('user', 'a', 'b');
  const patternSegment = fc.constantFrom('user', 'a', '*');
  const pattern = fc
    .tuple(fc.array(patternSegment, { minLength: 1, maxLength: 3 }), fc.boolean())
    .map(([segments, tail]) => (tail ? [...segments, '>'] : segments).join('.'));
  const topic = fc.array(segment, { minLength: 1, maxLength: 4 }).map((segments) => segments.join('.'));
  fc.assert(
    fc.property(fc.uniqueArray(pattern, { maxLength: 6 }), topic, (patterns, candidate) => {
      const trie = new TopicTrie<string>({ reservedRoots: ['user'] });
      for (const p of patterns) trie.add(p, p);
      const wildcardFirst = (p: string) => p.startsWith('*') || p.startsWith('>');
      const expected = patterns.filter((p) => topicMatches(p, candidate) && !(candidate.startsWith('user') && candidate.split('.')[0] === 'user' && wildcardFirst(p)));
      return JSON.stringify([...trie.match(candidate)].sort()) === JSON.stringify(expected.sort()) && trie.hasMatch(candidate) === expected.length > 0;
    }),
    { numRuns: 3000 },
  );
  t.pass('3000 random pattern sets');
});

t.test('sharedPattern: the trie answers with its own string while the pattern has subscribers', async (t) => {
  // String identity is not observable from JS: the heap per connection (pnpm bench memory-scale) shows it.
  const trie = new TopicTrie<string>();
  const parsed = (text: string): string => JSON.parse(JSON.stringify(text)) as string;
  t.equal(trie.sharedPattern(parsed('a.*')), 'a.*', 'an unknown pattern is its own');
  trie.add(parsed('a.*'), 's1');
  t.equal(trie.sharedPattern(parsed('a.*')), 'a.*');
  trie.remove('a.*', 's1');
  t.equal(trie.sharedPattern('a.*'), 'a.*');
});
