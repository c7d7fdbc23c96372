import t from 'tap';
import { createConfig } from '../../src/config/config.js';
import { policyMatcher } from '../../src/hub/policy-matcher.js';

/** The slow-consumer policy a publication's deliveries carry, chosen by topic. */

t.test('slow-consumer rules: the first matching pattern wins, else the default policy', async (t) => {
  const policyFor = policyMatcher(
    createConfig({
      slowConsumerPolicy: 'drop-oldest',
      slowConsumerRules: [
        { pattern: 'prices.*', policy: 'conflate' },
        { pattern: 'prices.>', policy: 'disconnect' },
        { pattern: '*.orders', policy: 'disconnect' },
      ],
    }),
  );
  t.equal(policyFor('prices.AAPL'), 'conflate');
  t.equal(policyFor('prices.AAPL.bid'), 'disconnect');
  t.equal(policyFor('eu.orders'), 'disconnect');
  t.equal(policyFor('chat.room'), 'drop-oldest');
});

