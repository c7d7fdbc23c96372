/** Why a recovery failed (protocol.md §8.2). */
export const RECOVERY_FAILURE_REASONS = ['epoch_mismatch', 'expired', 'no_history'] as const;
export type RecoveryFailureReason = (typeof RECOVERY_FAILURE_REASONS)[number];

/** Why messages were not delivered (protocol.md §8.3). */
export const GAP_REASONS = ['slow_consumer', 'conflation', 'engine_outage'] as const;
export type GapReason = (typeof GAP_REASONS)[number];
