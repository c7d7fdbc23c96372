import {
  ChunkAssembler,
  type ChunkLimits,
  type DeliveryHeader,
  type DeliveryMessage,
  type PresenceChunkMessage,
  type PresenceHeader,
  type PresenceMessage,
  type ProtocolError,
  type ServerChunkMessage,
} from '@switchboard/protocol';

/** A chunk the broker sends: of a delivery, or of a large `presence` listing (protocol.md §7.2). */
export type InboundChunk = ServerChunkMessage | PresenceChunkMessage;

/** What one inbound chunk (or a timeout) led to. */
export type InboundChunkOutcome =
  /** Nothing for the application yet (the transfer continues, or a stray chunk of an abandoned one). */
  | { readonly kind: 'pending' }
  /** The last chunk arrived: the delivery, exactly as if it had arrived unchunked. */
  | { readonly kind: 'delivery'; readonly message: DeliveryMessage }
  /** The last chunk of a `presence` listing: the answer, as if unchunked. */
  | { readonly kind: 'presence'; readonly message: PresenceMessage }
  /** A `presence` listing that could not be reassembled: its request fails. */
  | { readonly kind: 'presence_failed'; readonly header: PresenceHeader; readonly error: ProtocolError }
  /**
   * The client abandoned a delivery (its limits, a broken chunk, a timeout). protocol.md §7.4: "treats it as
   * missed: the message's offset is not part of its contiguous position, and it reports a gap to the
   * application".
   */
  | { readonly kind: 'missed'; readonly header: DeliveryHeader; readonly error: ProtocolError }
  /** A broken chunk whose message is unknown (no header was ever seen): only worth a diagnostic. */
  | { readonly kind: 'invalid'; readonly error: ProtocolError };

/**
 * Reassembly of chunked deliveries (protocol.md §7.3-7.4) for one connection, sized by the broker's
 * `welcome.limits` (they bind both directions). Memory is bounded by `maxIncompleteBytes`, and an abandoned
 * transfer's buffer is freed at once. Pure: the client arms one timer at {@link nextExpiryAt} and calls
 * {@link expire} with the same clock.
 */
export class InboundChunks {
  readonly #assembler: ChunkAssembler<InboundChunk>;

  constructor(limits: ChunkLimits, now: () => number = Date.now) {
    this.#assembler = new ChunkAssembler<InboundChunk>(limits, { now });
  }

  /** Incomplete deliveries being held, and the bytes reserved for them. */
  get open(): { readonly transfers: number; readonly bytes: number } {
    return { transfers: this.#assembler.openTransfers, bytes: this.#assembler.reservedBytes };
  }

  receive(chunk: InboundChunk): InboundChunkOutcome {
    const result = this.#assembler.receive(chunk);
    switch (result.status) {
      case 'pending':
      case 'ignored':
        return { kind: 'pending' };
      case 'complete':
        return result.message.op === 'presence' ? { kind: 'presence', message: result.message } : { kind: 'delivery', message: result.message };
      case 'rejected':
        return result.header === undefined ? { kind: 'invalid', error: result.error } : abandoned(result.header, result.error);
    }
  }

  /**
   * The broker cancelled a delivery (protocol.md §7.4): its buffer is freed and its stray chunks dropped.
   * The broker follows with a `gap`, so nothing is reported here.
   */
  cancel(transfer: number): void {
    this.#assembler.abandon(transfer);
  }

  /** A chunk that failed to decode: its transfer (when its id could be read) is abandoned. */
  abandon(transfer: number): void {
    this.#assembler.abandon(transfer);
  }

  /** When the earliest incomplete delivery times out, or `undefined` when none is open. */
  nextExpiryAt(): number | undefined {
    return this.#assembler.nextExpiryAt();
  }

  /** Abandons deliveries that had no chunk for `chunkTimeoutMs`; each is missed. */
  expire(now?: number): InboundChunkOutcome[] {
    return this.#assembler.expire(now).map(({ header, error }) => abandoned(header, error));
  }

  /** The connection ended: every incomplete delivery is discarded (protocol.md §7.4). */
  clear(): void {
    this.#assembler.clear();
  }
}

function abandoned(header: DeliveryHeader | PresenceHeader, error: ProtocolError): InboundChunkOutcome {
  return header.op === 'presence' ? { kind: 'presence_failed', header, error } : { kind: 'missed', header, error };
}
