import type { RecoveryFailureReason } from '@switchboard/protocol';
import type { RecoveryFailure } from '../engine/engine.js';

/** The engine's recovery failures as pubsub.v1 names them (protocol.md §8.2). */
export const recoveryFailureReasons: Record<RecoveryFailure, RecoveryFailureReason> = {
  'epoch-mismatch': 'epoch_mismatch',
  expired: 'expired',
  'no-history': 'no_history',
};
