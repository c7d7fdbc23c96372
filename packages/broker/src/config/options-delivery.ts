import { z } from 'zod';
import { option } from './option.js';
import { intFrom, patternSchema } from './option-schemas.js';
import { KiB, MiB } from './option-text.js';

/**
 * The way to one client: its send queue's cap and what crossing it does (the slow-consumer policy, per topic
 * pattern), how much is handed to the socket at once, and compression.
 */

/**
 * The send queue's overflow policies (`OverflowPolicy` in hub/outbound-item.ts). Declared here so the
 * config imports no broker folder; hub/policy-matcher.ts does not compile if a name here is not a policy.
 */
export const overflowPolicies = ['disconnect', 'drop-oldest', 'conflate'] as const;

export const deliveryOptions = {
  maxQueuedBytes: option({
    env: 'MAX_QUEUED_BYTES',
    flag: 'max-queued-bytes',
    kind: 'bytes',
    schema: intFrom(1, 4096 * MiB),
    /**
     * About 10,000 typical 100-byte deliveries: rides out a GC pause or a mobile stall, while 10,000 stuck
     * connections cost at most 10 GiB.
     */
    default: 1 * MiB,
    help: 'cap on bytes queued for one connection; crossing it applies the slow-consumer policy',
  }),
  highWaterMarkBytes: option({
    env: 'HIGH_WATER_MARK',
    flag: 'high-water-mark',
    kind: 'bytes',
    schema: intFrom(16 * KiB, 64 * MiB),
    /** One chunk in flight per socket, so the next write is chosen by priority, not by arrival. */
    default: 64 * KiB,
    help: 'write to a socket only while its bufferedAmount is below this; small, so priorities decide what goes next',
  }),
  maxPendingGaps: option({
    env: 'MAX_PENDING_GAPS',
    flag: 'max-pending-gaps',
    kind: 'int',
    schema: intFrom(0),
    /** A notice is about 100 bytes: at most ~100 KiB per connection, a tenth of the queue cap. */
    default: 1024,
    help: 'unsent gap notices per connection; beyond: 4001',
  }),
  slowConsumerPolicy: option({
    env: 'SLOW_CONSUMER_POLICY',
    flag: 'slow-consumer-policy',
    kind: 'string',
    schema: z.enum(overflowPolicies),
    /** Losses are announced and recoverable, so a briefly slow client keeps its connection. */
    default: 'drop-oldest',
    help: `policy for topics no rule names: ${overflowPolicies.join(', ')}`,
  }),
  slowConsumerRules: option({
    env: 'SLOW_CONSUMER_RULES',
    flag: 'slow-consumer-rules',
    kind: 'rules',
    schema: z.array(z.strictObject({ pattern: patternSchema, policy: z.enum(overflowPolicies) })),
    default: [],
    help: 'per topic pattern, first match wins: `prices.>=conflate,orders.>=disconnect`',
  }),
  perMessageDeflate: option({
    env: 'PERMESSAGE_DEFLATE',
    flag: 'permessage-deflate',
    kind: 'boolean',
    schema: z.boolean(),
    /** Compression costs CPU per message; opt in when payloads are large and compressible. */
    default: false,
    help: 'negotiate permessage-deflate (no context takeover: a broadcast is compressed once per parameter set)',
  }),
  deflateThresholdBytes: option({
    env: 'DEFLATE_THRESHOLD',
    flag: 'deflate-threshold',
    kind: 'bytes',
    schema: intFrom(0),
    default: 1024,
    help: 'messages smaller than this are sent uncompressed',
  }),
};
