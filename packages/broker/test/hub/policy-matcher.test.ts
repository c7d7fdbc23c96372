import t from 'tap';
import { createConfig } from '../../src/config/config.js';
import { NamespaceResolver } from '../../src/config/namespace-resolver.js';
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


t.test('a namespace\'s slow-consumer policy comes first, then the rules, then the default', async (t) => {
  const config = createConfig({
    slowConsumerPolicy: 'drop-oldest',
    slowConsumerRules: [{ pattern: 'prices.>', policy: 'disconnect' }],
    namespaces: { 'prices.': { slowConsumerPolicy: 'conflate' }, 'prices.audit.': { historySize: 5 }, 'chat.': { historySize: 5 } },
  });
  const policyFor = policyMatcher(config, new NamespaceResolver(config));
  t.equal(policyFor('prices.AAPL'), 'conflate', 'the namespace, before the rule that matches too');
  t.equal(policyFor('prices.audit.x'), 'conflate', 'inherited by a nested namespace');
  t.equal(policyFor('chat.room'), 'drop-oldest', 'a namespace without one: the default');
  t.equal(policyFor('orders.1'), 'drop-oldest');
  t.equal(policyMatcher(config)('prices.AAPL'), 'disconnect', 'without the resolver: the rules alone');
});
