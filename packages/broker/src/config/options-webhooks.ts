import { z } from 'zod';
import { option } from './option.js';
import { intFrom } from './option-schemas.js';

/**
 * Webhooks (docs/operations.md "Webhooks"): the broker tells the application's backend what happened, by
 * signed, batched HTTP POSTs. These are the defaults; a namespace may send its topics' events elsewhere, or
 * choose other events, with its `webhooks` setting (`namespaceWebhookSchema`).
 */

/** Every event a webhook can carry (docs/operations.md "Webhook events"). */
export const webhookEventTypes = [
  'connection.opened',
  'connection.closed',
  'publication',
  'presence.member_added',
  'presence.member_removed',
  'topic.occupied',
  'topic.vacated',
] as const;
export type WebhookEventType = (typeof webhookEventTypes)[number];

/**
 * An endpoint: http or https (a backend is often reached inside the cluster). No user info: the URL is
 * logged, and the body's signature is what proves the sender.
 */
export const webhookUrlSchema = z.string().superRefine((value, context) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    context.addIssue({ code: 'custom', message: 'must be an http:// or https:// URL' });
    return;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') context.addIssue({ code: 'custom', message: 'must be an http:// or https:// URL' });
  else if (url.username !== '' || url.password !== '') context.addIssue({ code: 'custom', message: 'must not carry a user name or password (the signature authenticates)' });
});

const eventListSchema = z.array(z.enum(webhookEventTypes, `must list events from ${webhookEventTypes.join(', ')}`));

/**
 * A namespace's `webhooks`: where its topics' events go and which ones. Unset fields come from the enclosing
 * namespace, then from WEBHOOK_URL / WEBHOOK_EVENTS. No secret here: WEBHOOK_SECRET signs every endpoint,
 * so the only credential stays in the one option that is never printed.
 */
export const namespaceWebhookSchema = z
  .strictObject({
    url: webhookUrlSchema.optional(),
    events: eventListSchema.optional(),
  })
  .optional();

export type NamespaceWebhookOptions = z.output<typeof namespaceWebhookSchema>;

export const webhookOptions = {
  webhookUrl: option({
    env: 'WEBHOOK_URL',
    flag: 'webhook-url',
    kind: 'string',
    schema: webhookUrlSchema,
    optional: true,
    help: 'where events are POSTed (signed JSON batches); unset: only namespaces that set webhooks.url send any',
  }),
  webhookSecret: option({
    env: 'WEBHOOK_SECRET',
    flag: 'webhook-secret',
    kind: 'string',
    schema: z.string().min(32, 'must be at least 32 bytes (an HMAC-SHA256 key as long as the hash)'),
    /** Whoever has it can forge events the backend trusts. */
    secret: 'whole',
    optional: true,
    help: 'HMAC-SHA256 key of the Switchboard-Signature header (at least 32 bytes); required when any webhook URL is set',
  }),
  webhookEvents: option({
    env: 'WEBHOOK_EVENTS',
    flag: 'webhook-events',
    kind: 'list',
    schema: eventListSchema,
    /** Everything but client publications, which can be the whole traffic: a namespace opts in to those. */
    default: ['connection.opened', 'connection.closed', 'presence.member_added', 'presence.member_removed', 'topic.occupied', 'topic.vacated'],
    help: `events sent (${webhookEventTypes.join(', ')}); a namespace may choose its own`,
  }),
  webhookBatchSize: option({
    env: 'WEBHOOK_BATCH_SIZE',
    flag: 'webhook-batch-size',
    kind: 'int',
    schema: intFrom(1, 10_000),
    /** A POST per 100 events keeps a busy node's request rate low and each body well under a megabyte. */
    default: 100,
    help: 'most events per POST',
  }),
  webhookBatchDelayMs: option({
    env: 'WEBHOOK_BATCH_DELAY',
    flag: 'webhook-batch-delay',
    kind: 'duration',
    schema: intFrom(0, 60_000),
    /** Long enough to gather a burst (a room emptying), short enough that a backend hears of a close at once. */
    default: 50,
    help: 'how long the first event of a batch waits for more before the POST',
  }),
  webhookTimeoutMs: option({
    env: 'WEBHOOK_TIMEOUT',
    flag: 'webhook-timeout',
    kind: 'duration',
    schema: intFrom(100, 300_000),
    default: 10_000,
    help: 'how long a POST may take before it is retried',
  }),
  webhookRetryMinMs: option({
    env: 'WEBHOOK_RETRY_MIN',
    flag: 'webhook-retry-min',
    kind: 'duration',
    schema: intFrom(1, 3_600_000),
    default: 500,
    help: 'first retry delay; each further one doubles, with full jitter, up to WEBHOOK_RETRY_MAX',
  }),
  webhookRetryMaxMs: option({
    env: 'WEBHOOK_RETRY_MAX',
    flag: 'webhook-retry-max',
    kind: 'duration',
    schema: intFrom(1, 3_600_000),
    /** A backend back from a deploy is heard again within half a minute. */
    default: 30_000,
    help: 'longest retry delay; a batch is retried until it is accepted (at least once)',
  }),
  webhookQueueSize: option({
    env: 'WEBHOOK_QUEUE_SIZE',
    flag: 'webhook-queue-size',
    kind: 'int',
    schema: intFrom(1, 10_000_000),
    /** About 5 MB of small events per endpoint: minutes of a busy node's events while the backend restarts. */
    default: 10_000,
    help: 'events waiting per endpoint; beyond, new events are dropped (switchboard_webhook_events_dropped_total, logged)',
  }),
  webhookOccupancyGraceMs: option({
    env: 'WEBHOOK_OCCUPANCY_GRACE',
    flag: 'webhook-occupancy-grace',
    kind: 'duration',
    schema: intFrom(0, 3_600_000),
    /** A reconnect (a page reload, a move between nodes) resubscribes within a few seconds. */
    default: 5000,
    help: 'a topic left without subscribers is reported vacated only if it stays so this long',
  }),
};
