import type { PresenceLevel } from '@switchboard/protocol';
import type { LostRange } from '../history/recovery-plan.js';
import type { CompressionVariant, Delivery } from './delivery.js';
import type { PresenceDelivery } from './presence-delivery.js';

/** What the hub needs from a local subscriber (a session). */
export interface HubSubscriber {
  /** How this connection's messages are framed: subscribers with the same variant get the same bytes. */
  readonly variant: CompressionVariant;
  /** Queues a delivery; must not throw. Called at most once per publication, however many patterns match. */
  deliver(delivery: Delivery): void;
  /**
   * Announces offsets of a topic that the engine lost and history could not fill (protocol.md §8.3,
   * reason `engine_outage`); must not throw.
   */
  notifyGap(gap: OutageGap): void;
  /** Queues a presence entry its subscription's level gets (protocol.md §13.3); must not throw. */
  deliverPresence(delivery: PresenceDelivery): void;
  /** Announces presence entries the engine lost (`presence_gap` `engine_outage`); must not throw. */
  notifyPresenceGap(gap: PresenceOutageGap): void;
}

/** Offsets `from`..`to` of `topic` in `epoch` that will never be delivered. */
export interface OutageGap extends LostRange {
  readonly topic: string;
}

/** Presence entries of `topic` up to `seq` in `epoch` may never be delivered. */
export interface PresenceOutageGap {
  readonly topic: string;
  readonly epoch: string;
  readonly seq: number;
}

/** Options of one local subscription. */
export interface HubSubscribeOptions {
  /** Join and leave events at this level (an exact presence topic only; the session checks). */
  readonly presence?: PresenceLevel | undefined;
}
