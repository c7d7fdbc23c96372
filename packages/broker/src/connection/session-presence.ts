import {
  type PresenceHeader,
  type PresenceRequestMessage,
  type PresenceStatsRequestMessage,
  ProtocolErrorCode,
  joinTextWithData,
  encodeBinary,
  encodeText,
} from '@switchboard/protocol';
import type { PresenceCounts, PresencePosition } from '../engine/engine.js';
import { type Frames, frame } from '../hub/delivery.js';
import type { OutboundFrame } from '../hub/outbound-item.js';
import { TokenBucket } from '../limits/token-bucket.js';
import type { PresenceListing, PresenceRegistry } from '../presence/presence-registry.js';
import type { SessionScope } from './session-context.js';
import { PRESENCE_NOT_SERVED } from './session-errors.js';

/**
 * A connection's presence requests (protocol.md §13.2): `presence` and `presence_stats`, each checked in the
 * order the protocol lists its errors (`presence_disabled`, `forbidden`, `rate_limited`) and answered from the
 * engine through the hub's registry (`unavailable` when it cannot answer). A listing over `chunkBytes` travels
 * as `json` chunks at priority `low`, so a large room never stalls the connection's messages.
 */
export class SessionPresence {
  private readonly session: SessionScope;
  /** `PRESENCE_REQUEST_RATE`, per connection; undefined when it is 0 (no limit). */
  private readonly bucket: TokenBucket | undefined;

  constructor(session: SessionScope) {
    this.session = session;
    const rate = session.config.presenceRequestRate;
    this.bucket = rate > 0 ? new TokenBucket({ capacity: rate, refillPerSecond: rate, now: session.context.monotonicNow }) : undefined;
  }

  async request(message: PresenceRequestMessage | PresenceStatsRequestMessage): Promise<void> {
    const { session } = this;
    const { outbound } = session;
    const { id, topic } = message;
    const registry = session.context.hub.presence;
    if (registry === undefined) {
      outbound.sendError({ id, code: ProtocolErrorCode.presenceDisabled, message: PRESENCE_NOT_SERVED });
      return;
    }
    if (!registry.serves(topic)) {
      outbound.sendError({ id, code: ProtocolErrorCode.presenceDisabled, message: `${topic} keeps no presence (no PRESENCE pattern matches it)` });
      return;
    }
    // protocol.md §13.1: whoever may read everything published to a topic may see who reads it.
    if (!session.permissions.canSubscribe(topic)) {
      outbound.sendError({ id, code: ProtocolErrorCode.forbidden, message: `reading the presence of ${topic} is not permitted` });
      return;
    }
    const { bucket } = this;
    if (bucket !== undefined && !bucket.tryTake()) {
      outbound.sendError({
        id,
        code: ProtocolErrorCode.rateLimited,
        message: `presence request rate ${session.config.presenceRequestRate}/s exceeded`,
        retryAfterMs: Math.min(Number.MAX_SAFE_INTEGER, Math.max(1, bucket.msUntilAvailable())),
      });
      return;
    }
    try {
      if (message.op === 'presence_stats') {
        const stats = await registry.stats(topic);
        if (session.isOpen) outbound.sendControl({ op: 'presence_stats', id, topic, ...positionOf(stats), ...countsOf(stats) });
      } else {
        const listing = await registry.list(topic);
        if (session.isOpen) this.answerListing(id, topic, listing);
      }
    } catch (error) {
      if (session.isOpen) session.failRequest(error, { id }, `${message.op} of ${topic}`);
    }
  }

  /** The `presence` answer: one control frame, or over `chunkBytes` a header chunk and the listing at `low`. */
  private answerListing(id: number, topic: string, listing: PresenceListing): void {
    const { outbound, config, variant, context } = this.session;
    const header: PresenceHeader = { op: 'presence', id, topic, ...positionOf(listing), stats: countsOf(listing.counts), truncated: listing.truncated };
    const { dataJson } = listing;
    if (dataJson === undefined) {
      outbound.sendControl(header);
      return;
    }
    const data = Buffer.from(dataJson, 'utf8');
    if (data.length <= config.chunkBytes) {
      outbound.enqueue({ priority: 'control', ...frame(Buffer.from(joinTextWithData(encodeText(header), dataJson), 'utf8'), false, variant.compressor) });
      return;
    }
    const transfer = context.hub.nextTransfer();
    const count = Math.ceil(data.length / config.chunkBytes);
    const chunks: OutboundFrame<Frames>[] = [];
    for (let index = 0; index < count; index++) {
      const bytes = data.subarray(index * config.chunkBytes, Math.min(data.length, (index + 1) * config.chunkBytes));
      const last = index === count - 1;
      const chunk = index === 0 ? { op: 'chunk' as const, transfer, index, last, total: data.length, encoding: 'json' as const, header } : { op: 'chunk' as const, transfer, index, last };
      chunks.push(frame(encodeBinary(chunk, bytes), true, variant.compressor));
    }
    // No topic: the queue never drops it (a listing is an answer, not a delivery a gap could announce).
    outbound.enqueue({ priority: 'low', chunks });
  }
}

function positionOf(position: PresencePosition): PresencePosition {
  return { epoch: position.epoch, offset: position.offset, seq: position.seq };
}

function countsOf(counts: PresenceCounts): PresenceCounts {
  return { connections: counts.connections, users: counts.users, anonymous: counts.anonymous };
}
