import fc from 'fast-check';
import t from 'tap';
import { isValidTopic, reservedRootAllows, userTopic } from '../src/index.js';

t.test('userTopic: a valid segment is used as it stands', async (t) => {
  t.equal(userTopic('user', 'alice'), 'user.alice');
  t.equal(userTopic('user', 'a@b.c'.replace('.', ':')), 'user.a@b:c');
  t.equal(userTopic('u', 'x'.repeat(253)), `u.${'x'.repeat(253)}`, 'fits 255 characters exactly');
});

t.test('userTopic: anything else is b64: + base64url of its UTF-8', async (t) => {
  t.equal(userTopic('user', 'a.b'), `user.b64:${Buffer.from('a.b').toString('base64url')}`, 'a dot would add a segment');
  t.equal(userTopic('user', 'Zoë'), `user.b64:${Buffer.from('Zoë').toString('base64url')}`);
  t.equal(userTopic('user', 'b64:x'), `user.b64:${Buffer.from('b64:x').toString('base64url')}`, 'the mark itself is encoded');
  t.equal(userTopic('user', '*'), `user.b64:${Buffer.from('*').toString('base64url')}`);
  t.equal(userTopic('u', 'x'.repeat(254)), undefined, 'too long for both forms');
  t.equal(userTopic('user', ''), undefined, 'an empty id has no topic');
});

t.test('userTopic: injective, and always a valid topic, over arbitrary ids', async (t) => {
  const seen = new Map<string, string>();
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('b64:', 'b64:YQ', 'YQ', 'a', 'a.b', 'b64:YS5i')), (id) => {
      const topic = userTopic('user', id);
      if (topic === undefined) return true;
      if (!isValidTopic(topic)) return false;
      const other = seen.get(topic);
      seen.set(topic, id);
      return other === undefined || other === id;
    }),
    { numRuns: 5000 },
  );
  t.equal(userTopic('user', 'b64:YQ') === userTopic('user', 'a'), false, 'an id that looks encoded differs from the id it would decode to');
  t.ok(seen.size > 100);
});

t.test('reservedRootAllows: a wildcard first segment never reaches the reserved root', async (t) => {
  t.equal(reservedRootAllows('>', 'user', ['user']), false);
  t.equal(reservedRootAllows('*', 'user', ['user']), false);
  t.equal(reservedRootAllows('user', 'user', ['user']), true, 'naming the root literally');
  t.equal(reservedRootAllows('>', 'chat', ['user']), true, 'other roots are unaffected');
  t.equal(reservedRootAllows('>', 'user', []), true, 'no reserved roots');
});
