import { option } from './option.js';
import { intFrom } from './option-schemas.js';
import { MiB } from './option-text.js';

/** What each topic remembers, and how much of it a subscribe with `since` may replay (protocol.md §8). */

export const historyOptions = {
  historySize: option({
    env: 'HISTORY_SIZE',
    flag: 'history-size',
    kind: 'int',
    schema: intFrom(0, 1_000_000),
    /** Enough to bridge a reconnect; memory is at most size x message size per active topic. */
    default: 100,
    help: 'messages kept per topic for recovery; 0: none',
  }),
  historyTtlMs: option({
    env: 'HISTORY_TTL',
    flag: 'history-ttl',
    kind: 'duration',
    schema: intFrom(1, 30 * 86_400_000),
    default: 300_000,
    help: 'how long a message stays in history',
  }),
  maxRecoveryMessages: option({
    env: 'MAX_RECOVERY_MESSAGES',
    flag: 'max-recovery-messages',
    kind: 'int',
    schema: intFrom(0, 1_000_000),
    default: 1000,
    help: 'messages replayed per topic on a subscribe with `since`; more missing: recovery fails (client resyncs)',
  }),
  maxRecoveryBytes: option({
    env: 'MAX_RECOVERY_BYTES',
    flag: 'max-recovery-bytes',
    kind: 'bytes',
    schema: intFrom(0, 4096 * MiB),
    /**
     * A replay is queued at once, so it must fit the send queue or its tail would be dropped right after
     * being reported recovered; half the queue leaves the other half for live traffic.
     */
    derive: (options: { readonly maxQueuedBytes: number }) => Math.floor(options.maxQueuedBytes / 2),
    help: 'encoded bytes one subscribe with `since` may replay, all topics together; topics beyond it fail recovery (client resyncs)',
  }),
};
