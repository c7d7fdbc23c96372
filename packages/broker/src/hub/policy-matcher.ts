import { segmentsMatch } from '@switchboard/protocol';
import type { Config } from '../config/config.js';
import type { NamespaceResolver } from '../config/namespace-resolver.js';
import type { OverflowPolicy } from './outbound-item.js';

/**
 * The slow-consumer policy for a topic: its namespace's, if the namespace (or one enclosing it) sets one;
 * else the first SLOW_CONSUMER_RULES pattern that matches; else SLOW_CONSUMER_POLICY. The hub asks once per
 * publication, and the delivery carries the answer to every queue it enters.
 */
export function policyMatcher(
  config: Pick<Config, 'slowConsumerPolicy' | 'slowConsumerRules'>,
  namespaces?: NamespaceResolver,
): (topic: string) => OverflowPolicy {
  const rules = config.slowConsumerRules.map((rule) => ({ segments: rule.pattern.split('.'), policy: rule.policy }));
  const byRules =
    rules.length === 0
      ? () => config.slowConsumerPolicy
      : (topic: string) => {
          const segments = topic.split('.');
          for (const rule of rules) if (segmentsMatch(rule.segments, segments)) return rule.policy;
          return config.slowConsumerPolicy;
        };
  if (namespaces === undefined || namespaces.isEmpty) return byRules;
  return (topic) => namespaces.namespaceFor(topic).slowConsumerPolicy ?? byRules(topic);
}
