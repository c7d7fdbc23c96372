import { isValidPattern, topicMatches } from '@switchboard/protocol';
import fc from 'fast-check';
import t from 'tap';
import { covers, Permissions } from '../../src/auth/permissions.js';
import { createConfig } from '../../src/config/config.js';
import { NamespaceResolver } from '../../src/config/namespace-resolver.js';

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

t.test('namespaces: who may subscribe and publish without a grant; a token\'s grants still apply on top', async (t) => {
  const namespaces = new NamespaceResolver(
    createConfig({
      namespaces: {
        'open.': { subscribe: 'anonymous', publish: 'anonymous' },
        'members.': { subscribe: 'authenticated', publish: 'authenticated' },
        'members.staff.': { publish: 'nobody' },
        'closed.': { subscribe: 'nobody', publish: 'nobody' },
      },
    }),
  );
  const anonymousGrants = { publish: ['>'], subscribe: ['>'] };
  const anonymous = new Permissions(anonymousGrants, { anonymous: true, namespaces });
  const member = new Permissions({ publish: [], subscribe: [] }, { namespaces });
  const granted = new Permissions({ publish: ['closed.ops.>'], subscribe: ['closed.>', 'members.staff.>'] }, { namespaces });
  const table: [Permissions, string, 'publish' | 'subscribe', string, boolean][] = [
    [anonymous, 'anonymous', 'publish', 'open.x', true],
    [anonymous, 'anonymous', 'publish', 'members.x', false],
    [anonymous, 'anonymous', 'publish', 'closed.x', false],
    [anonymous, 'anonymous', 'publish', 'elsewhere.x', true],
    [anonymous, 'anonymous', 'subscribe', 'open.>', true],
    [anonymous, 'anonymous', 'subscribe', 'members.*', false],
    [anonymous, 'anonymous', 'subscribe', 'elsewhere.>', true],
    [anonymous, 'anonymous', 'subscribe', '>', false],
    [member, 'authenticated, no grants', 'publish', 'open.x', true],
    [member, 'authenticated, no grants', 'publish', 'members.x', true],
    [member, 'authenticated, no grants', 'publish', 'members.staff.x', false],
    [member, 'authenticated, no grants', 'publish', 'closed.x', false],
    [member, 'authenticated, no grants', 'publish', 'elsewhere.x', false],
    [member, 'authenticated, no grants', 'subscribe', 'members.>', true],
    [member, 'authenticated, no grants', 'subscribe', 'members.staff.x', true],
    [member, 'authenticated, no grants', 'subscribe', '*.x', false],
    [granted, 'granted', 'publish', 'closed.ops.restart', true],
    [granted, 'granted', 'publish', 'closed.other', false],
    [granted, 'granted', 'subscribe', 'closed.>', true],
    [granted, 'granted', 'subscribe', 'members.staff.>', true],
    [granted, 'granted', 'subscribe', 'members.>', true],
    [granted, 'granted', 'subscribe', '>', false],
  ];
  for (const [permissions, who, action, name, allowed] of table) {
    const answer = action === 'publish' ? permissions.canPublish(name) : permissions.canSubscribe(name);
    t.equal(answer, allowed, `${who}: ${action} ${name}: ${allowed ? 'allowed' : 'refused'}`);
  }
  const narrow = new Permissions({ publish: [], subscribe: ['elsewhere.a'] }, { anonymous: true, namespaces });
  t.notOk(narrow.canSubscribe('elsewhere.b'), 'outside every namespace, anonymous connections keep ANONYMOUS_SUBSCRIBE');
  t.ok(narrow.canSubscribe('open.b'), 'a namespace open to anonymous needs no anonymous pattern');
  const none = new NamespaceResolver(createConfig());
  const unchanged = new Permissions(anonymousGrants, { anonymous: true, namespaces: none });
  t.ok(unchanged.canSubscribe('>') && unchanged.canPublish('a.b'), 'no namespaces: the grants alone, as before');
});

t.test('reserved roots (protocol.md §14.2): a grant starting with a wildcard covers nothing under the user prefix', async (t) => {
  const reserved = ['user'];
  t.equal(covers(split('>'), split('user.alice'), reserved), false, '> cannot message users');
  t.equal(covers(split('*.alice'), split('user.alice'), reserved), false);
  t.equal(covers(split('>'), split('user.>'), reserved), false, 'nor subscribe to them');
  t.equal(covers(split('user.>'), split('user.alice'), reserved), true, 'a grant naming the prefix does');
  t.equal(covers(split('user.bob'), split('user.bob'), reserved), true);
  t.equal(covers(split('>'), split('chat.alice'), reserved), true, 'other roots keep the usual rule');
  t.equal(covers(split('>'), split('user.alice')), true, 'no reserved roots: > covers everything');
  const agent = new Permissions({ publish: ['>'], subscribe: ['>'] }, { reservedRoots: reserved });
  t.notOk(agent.canPublish('user.alice'));
  t.notOk(agent.canSubscribe('user.alice'));
  t.ok(agent.canPublish('chat.lobby'));
  const support = new Permissions({ publish: ['user.>'], subscribe: [] }, { reservedRoots: reserved });
  t.ok(support.canPublish('user.alice'), 'a support agent with user.> messages any user');
});
