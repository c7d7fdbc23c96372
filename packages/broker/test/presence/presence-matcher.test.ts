import t from 'tap';
import { PresenceMatcher } from '../../src/presence/presence-matcher.js';

t.test('topics a PRESENCE pattern matches keep presence; patterns and unmatched topics do not', async (t) => {
  const matcher = new PresenceMatcher(['chat.>', 'doc.*']);
  t.ok(matcher.matches('chat.lobby'));
  t.ok(matcher.matches('chat.a.b'));
  t.ok(matcher.matches('doc.1'));
  t.notOk(matcher.matches('doc.1.2'));
  t.notOk(matcher.matches('news.today'));
  t.notOk(matcher.matches('chat.*'), 'a pattern is never present');
  t.ok(new PresenceMatcher([]).empty);
});

t.test('a pattern starting with a wildcard does not reach the user topic prefix; one naming it does', async (t) => {
  const everything = new PresenceMatcher(['>'], ['user']);
  t.ok(everything.matches('chat.lobby'));
  t.notOk(everything.matches('user.alice'), '> does not make user topics presence topics');
  t.notOk(new PresenceMatcher(['*.alice'], ['user']).matches('user.alice'));
  t.ok(new PresenceMatcher(['user.>'], ['user']).matches('user.alice'), 'naming the prefix literally does');
  t.ok(new PresenceMatcher(['>']).matches('user.alice'), 'without reserved roots (USER_TOPIC_PREFIX empty) > reaches it');
});
