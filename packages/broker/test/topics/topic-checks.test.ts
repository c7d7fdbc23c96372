import t from 'tap';
import { BrokerErrorCode } from '../../src/errors.js';
import { assertValidPattern, assertValidTopic } from '../../src/topics/topic-checks.js';

t.test('topics', async (t) => {
  t.throws(() => assertValidTopic('a..b'), { code: BrokerErrorCode.invalidTopic });
  t.doesNotThrow(() => assertValidTopic('a.b'));
  t.doesNotThrow(() => assertValidTopic('A_1.-.~'), 'structure only: characters are checked where requests arrive');
});

t.test('patterns', async (t) => {
  t.throws(() => assertValidPattern('a.>.b'), { code: BrokerErrorCode.invalidPattern });
  t.doesNotThrow(() => assertValidPattern('a.>'));
});
