import { TopicSyntax, parseTopic } from '@switchboard/protocol';
import { z } from 'zod';
import { type OptionSource, option } from './option.js';
import { deliveryOptions } from './options-delivery.js';
import { historyOptions } from './options-history.js';
import { limitOptions } from './options-limits.js';
import { namespaceProxySchema } from './options-proxy.js';
import { namespaceWebhookSchema } from './options-webhooks.js';
import { readText } from './option-text.js';

/**
 * Namespaces (after Centrifugo's): settings per topic prefix (`chat.`), set in the configuration file as a
 * map from prefix to settings, or as the same map in JSON through NAMESPACES / --namespaces. Which settings
 * a topic gets is `namespace-resolver.ts`; the rules are in docs/operations.md "Namespaces".
 *
 * A setting a namespace shares with a top-level option has the option's key, values and text forms
 * (`historyTtlMs: 10m`); `recovery`, `subscribe` and `publish` exist only here. Presence and join/leave
 * settings join these once presence exists.
 */

/** Who may subscribe to, or publish on, a namespace's topics without a token grant for them. */
export const namespaceAccessLevels = ['anonymous', 'authenticated', 'nobody'] as const;
export type NamespaceAccess = (typeof namespaceAccessLevels)[number];

/**
 * A namespace setting that is also a top-level option: the option's schema, and its text read by the
 * option's kind (so `historyTtlMs: 10m` reads as at the top level).
 */
function like<Schema extends z.ZodType>(record: OptionSource<Schema>) {
  return z
    .unknown()
    .transform((value, context) => {
      if (typeof value !== 'string' || record.kind === 'string') return value;
      const reading = readText(record.kind, value);
      if (!reading.ok) context.addIssue({ code: 'custom', message: reading.message });
      return reading.ok ? reading.value : value;
    })
    .pipe(record.schema)
    .optional();
}

const recoverySchema = z
  .unknown()
  .transform((value, context) => {
    if (typeof value !== 'string') return value;
    const reading = readText('boolean', value);
    if (!reading.ok) context.addIssue({ code: 'custom', message: reading.message });
    return reading.ok ? reading.value : value;
  })
  .pipe(z.boolean())
  .optional();

const accessSchema = z.enum(namespaceAccessLevels).optional();

/** One namespace's own settings; each one unset takes the enclosing namespace's, then the top level's. */
export const namespaceSettingsSchema = z.strictObject({
  historySize: like(historyOptions.historySize),
  historyTtlMs: like(historyOptions.historyTtlMs),
  /** Off: a subscribe with `since` recovers none of the namespace's topics (`no_history`); the client resyncs. */
  recovery: recoverySchema,
  /**
   * On (a "cache" namespace: prices, scores, tiles): a subscribe without `since` to one of its topics gets the
   * topic's latest publication first, from history, then live ones (protocol.md §8.6). Needs historySize >= 1.
   */
  latest: recoverySchema,
  subscribe: accessSchema,
  publish: accessSchema,
  publishRatePerSecond: like(limitOptions.publishRatePerSecond),
  publishRateBurst: like(limitOptions.publishRateBurst),
  maxMessageBytes: like(limitOptions.maxMessageBytes),
  slowConsumerPolicy: like(deliveryOptions.slowConsumerPolicy),
  /** Where this namespace's events go and which (options-webhooks.ts); resolved by webhooks/webhook-routes.ts. */
  webhooks: namespaceWebhookSchema,
  /** Its own subscribe and publish backend endpoints (options-proxy.ts); resolved by proxy/proxy-routes.ts. */
  proxy: namespaceProxySchema,
});

export type NamespaceOptions = z.output<typeof namespaceSettingsSchema>;

/** `chat.`, `chat.eu.`: one or more topic segments, each followed by the separator. */
const prefixSchema = z.string().superRefine((prefix, context) => {
  const body = prefix.slice(0, -1);
  const topic = parseTopic(body);
  if (!prefix.endsWith(TopicSyntax.separator) || !topic.ok) {
    context.addIssue({ code: 'custom', message: `a namespace is a topic prefix ending in "${TopicSyntax.separator}", such as "chat." or "chat.eu."` });
  }
});

export const namespaceOptions = {
  namespaces: option({
    env: 'NAMESPACES',
    flag: 'namespaces',
    kind: 'json',
    schema: z.record(prefixSchema, namespaceSettingsSchema),
    /** No namespaces: every topic gets the top-level options, as before namespaces existed. */
    default: {},
    help: 'per topic prefix settings (history, recovery, latest publication on subscribe, who may subscribe and publish without a grant, rate, size, slow-consumer policy): a map from prefix ("chat.") to settings, as JSON here, usually in the configuration file; the longest matching prefix wins; empty: every topic uses the top-level options',
  }),
};
