import { segmentsMatch } from '@switchboard/protocol';
import type { Config } from '../config/config.js';
import type { OverflowPolicy } from './outbound-item.js';

/**
 * The slow-consumer policy for a topic: the first SLOW_CONSUMER_RULES pattern that matches, else
 * SLOW_CONSUMER_POLICY. The hub asks once per publication, and the delivery carries the answer to every
 * queue it enters.
 */
export function policyMatcher(config: Pick<Config, 'slowConsumerPolicy' | 'slowConsumerRules'>): (topic: string) => OverflowPolicy {
  const rules = config.slowConsumerRules.map((rule) => ({ segments: rule.pattern.split('.'), policy: rule.policy }));
  if (rules.length === 0) return () => config.slowConsumerPolicy;
  return (topic) => {
    const segments = topic.split('.');
    for (const rule of rules) if (segmentsMatch(rule.segments, segments)) return rule.policy;
    return config.slowConsumerPolicy;
  };
}
