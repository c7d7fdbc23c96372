import { type ProtocolError, ProtocolErrorCode, protocolError } from './errors.js';
import type {
  ClientChunkMessage,
  DeliveryMessage,
  PresenceChunkMessage,
  PresenceMessage,
  PublishMessage,
  ServerChunkMessage,
  ServerLimits,
} from './messages.js';
import type { Payload, PayloadEncoding } from './payload.js';

/** Any decoded chunk: from clients (carrying `publish`) or from the server (carrying `message` or `presence`). */
export type AnyChunk = ClientChunkMessage | ServerChunkMessage | PresenceChunkMessage;

/** The header a first chunk carries. */
export type ChunkHeaderOf<Chunk extends AnyChunk> = NonNullable<Chunk['header']>;

/** What a completed transfer yields: the message exactly as if it had arrived unchunked. */
export type AssembledMessage<Chunk extends AnyChunk> = Chunk extends ClientChunkMessage
  ? PublishMessage
  : Chunk extends PresenceChunkMessage
    ? PresenceMessage
    : DeliveryMessage;

/** The limits reassembly enforces; `welcome.limits` has them all (they bind both directions). */
export type ChunkLimits = Pick<
  ServerLimits,
  'chunkBytes' | 'maxMessageBytes' | 'maxIncompleteBytes' | 'maxConcurrentTransfers' | 'chunkTimeoutMs'
>;

export interface ChunkAssemblerOptions {
  /**
   * The clock for chunk timeouts, in ms. Injected so tests never wait.
   * @default Date.now
   */
  readonly now?: () => number;
  /**
   * How many abandoned transfer ids are remembered so their in-flight chunks are dropped silently rather
   * than answered with `unknown_transfer` (protocol.md §7.4 asks for at least 256).
   * @default 256
   */
  readonly maxTombstones?: number;
}

/** The outcome of receiving one chunk. */
export type ChunkResult<Chunk extends AnyChunk> =
  /** Accepted; the transfer is still incomplete. */
  | { readonly status: 'pending'; readonly transfer: number }
  /** The last chunk: here is the whole message. */
  | { readonly status: 'complete'; readonly transfer: number; readonly message: AssembledMessage<Chunk> }
  /** A chunk of an abandoned transfer, dropped silently. */
  | { readonly status: 'ignored'; readonly transfer: number }
  /**
   * The chunk broke a rule (protocol.md §7.3); the transfer, if open, is abandoned and its memory freed. The
   * receiver reports `error` to the peer, addressed by `transfer` (and `header.id` for a publish).
   */
  | {
      readonly status: 'rejected';
      readonly transfer: number;
      readonly error: ProtocolError;
      readonly header?: ChunkHeaderOf<Chunk>;
    };

/** A transfer that {@link ChunkAssembler.expire} abandoned. */
export interface ExpiredTransfer<Chunk extends AnyChunk> {
  readonly transfer: number;
  readonly header: ChunkHeaderOf<Chunk>;
  readonly error: ProtocolError;
}

interface OpenTransfer<Chunk extends AnyChunk> {
  readonly header: ChunkHeaderOf<Chunk>;
  readonly encoding: PayloadEncoding;
  /** Allocated at the announced size when the first chunk arrives: one copy per byte, no final concat. */
  readonly buffer: Uint8Array;
  received: number;
  nextIndex: number;
  lastChunkAt: number;
}

const DEFAULT_MAX_TOMBSTONES = 256;
const strictUtf8Decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Reassembles chunked messages (protocol.md §7.3-7.4). Sans-I/O: chunks go in through {@link receive},
 * complete messages and rejections come out; timers are the caller's, which calls {@link expire} (at
 * {@link nextExpiryAt}) with the same clock.
 *
 * Memory is bounded: the first chunk reserves the transfer's announced `total`, and the sum of reservations
 * never exceeds `maxIncompleteBytes`, nor the number of open transfers `maxConcurrentTransfers`.
 */
export class ChunkAssembler<Chunk extends AnyChunk> {
  private readonly limits: ChunkLimits;
  private readonly now: () => number;
  private readonly maxTombstones: number;
  private readonly transfers = new Map<number, OpenTransfer<Chunk>>();
  /** Abandoned ids, oldest first (a Set iterates in insertion order). */
  private readonly tombstones = new Set<number>();
  private reserved = 0;

  constructor(limits: ChunkLimits, options: ChunkAssemblerOptions = {}) {
    this.limits = limits;
    this.now = options.now ?? Date.now;
    this.maxTombstones = options.maxTombstones ?? DEFAULT_MAX_TOMBSTONES;
  }

  /** Incomplete transfers being held. */
  get openTransfers(): number {
    return this.transfers.size;
  }

  /** Bytes reserved by incomplete transfers: the sum of their announced totals. */
  get reservedBytes(): number {
    return this.reserved;
  }

  /** Feeds one decoded chunk. Never throws. */
  receive(chunk: Chunk): ChunkResult<Chunk> {
    const { transfer } = chunk;
    if (this.tombstones.has(transfer)) {
      // Its chunks were in flight when it was abandoned; the last one ends the need to remember it.
      if (chunk.last) this.tombstones.delete(transfer);
      return { status: 'ignored', transfer };
    }
    const open = this.transfers.get(transfer);
    if (chunk.index === 0) {
      if (open !== undefined) {
        return this.reject(chunk, ProtocolErrorCode.duplicateTransfer, `transfer ${transfer} is already open`, open.header);
      }
      return this.start(chunk);
    }
    if (open === undefined) return this.reject(chunk, ProtocolErrorCode.unknownTransfer, `transfer ${transfer} is not open`);
    if (chunk.index !== open.nextIndex) {
      return this.reject(
        chunk,
        ProtocolErrorCode.chunkOutOfOrder,
        `transfer ${transfer}: expected chunk ${open.nextIndex}, got ${chunk.index}`,
        open.header,
      );
    }
    return this.append(chunk, open);
  }

  /**
   * Abandons a transfer (a `cancel`, or a chunk the decoder rejected): frees its memory and drops its later
   * chunks silently. Unknown ids are remembered too, so stray chunks of a rejected first chunk stay quiet.
   *
   * @returns whether the transfer was open.
   */
  abandon(transfer: number): boolean {
    const wasOpen = this.release(transfer);
    this.bury(transfer);
    return wasOpen;
  }

  /** Abandons every transfer that has had no chunk for `chunkTimeoutMs` as of `now`. */
  expire(now: number = this.now()): ExpiredTransfer<Chunk>[] {
    const expired: ExpiredTransfer<Chunk>[] = [];
    for (const [transfer, open] of this.transfers) {
      if (now - open.lastChunkAt < this.limits.chunkTimeoutMs) continue;
      this.abandon(transfer);
      expired.push({
        transfer,
        header: open.header,
        error: protocolError(ProtocolErrorCode.transferTimeout, `transfer ${transfer}: no chunk for ${this.limits.chunkTimeoutMs} ms`),
      });
    }
    return expired;
  }

  /** When the earliest open transfer times out, or `undefined` when none is open: arm one timer for it. */
  nextExpiryAt(): number | undefined {
    let earliest: number | undefined;
    for (const open of this.transfers.values()) {
      const at = open.lastChunkAt + this.limits.chunkTimeoutMs;
      if (earliest === undefined || at < earliest) earliest = at;
    }
    return earliest;
  }

  /** The connection ended: every incomplete transfer is discarded (protocol.md §7.4). */
  clear(): void {
    this.transfers.clear();
    this.tombstones.clear();
    this.reserved = 0;
  }

  private start(chunk: Chunk): ChunkResult<Chunk> {
    const { transfer, total, encoding } = chunk;
    const header = chunk.header as ChunkHeaderOf<Chunk> | undefined;
    // The decoder guarantees these on a first chunk; checked again because this class is public.
    if (header === undefined || total === undefined || encoding === undefined) {
      return this.reject(chunk, ProtocolErrorCode.badRequest, `transfer ${transfer}: the first chunk must carry total, encoding and header`);
    }
    if (total > this.limits.maxMessageBytes) {
      return this.reject(
        chunk,
        ProtocolErrorCode.messageTooBig,
        `transfer ${transfer}: ${total} bytes exceed maxMessageBytes ${this.limits.maxMessageBytes}`,
        header,
      );
    }
    if (this.transfers.size >= this.limits.maxConcurrentTransfers) {
      return this.reject(
        chunk,
        ProtocolErrorCode.tooManyTransfers,
        `transfer ${transfer}: ${this.transfers.size} transfers are already open (maxConcurrentTransfers)`,
        header,
      );
    }
    if (this.reserved + total > this.limits.maxIncompleteBytes) {
      return this.reject(
        chunk,
        ProtocolErrorCode.transferBufferFull,
        `transfer ${transfer}: ${total} bytes do not fit in the ${this.limits.maxIncompleteBytes - this.reserved} left of maxIncompleteBytes`,
        header,
      );
    }
    const open: OpenTransfer<Chunk> = { header, encoding, buffer: new Uint8Array(total), received: 0, nextIndex: 0, lastChunkAt: this.now() };
    this.transfers.set(transfer, open);
    this.reserved += total;
    return this.append(chunk, open);
  }

  private append(chunk: Chunk, open: OpenTransfer<Chunk>): ChunkResult<Chunk> {
    const { transfer, data } = chunk;
    const total = open.buffer.length;
    const mismatch = (why: string) => this.reject(chunk, ProtocolErrorCode.chunkSizeMismatch, `transfer ${transfer}: ${why}`, open.header);
    if (data.length === 0) return mismatch(`chunk ${chunk.index} is empty`);
    if (data.length > this.limits.chunkBytes) return mismatch(`chunk ${chunk.index} carries ${data.length} bytes; chunkBytes is ${this.limits.chunkBytes}`);
    if (open.received + data.length > total) return mismatch(`chunk ${chunk.index} goes past the announced ${total} bytes`);
    open.buffer.set(data, open.received);
    open.received += data.length;
    open.nextIndex += 1;
    open.lastChunkAt = this.now();
    if (!chunk.last) {
      // The next chunk would have to be empty, which is not allowed: fail now rather than at the timeout.
      if (open.received === total) return mismatch(`all ${total} bytes arrived but chunk ${chunk.index} is not marked last`);
      return { status: 'pending', transfer };
    }
    if (open.received !== total) return mismatch(`the last chunk ends at ${open.received} of ${total} bytes`);
    this.release(transfer);
    const payload = this.readPayload(open);
    if (!payload.ok) return { status: 'rejected', transfer, error: payload.error, header: open.header };
    const message = { ...open.header, data: payload.value } as AssembledMessage<Chunk>;
    return { status: 'complete', transfer, message };
  }

  private readPayload(open: OpenTransfer<Chunk>): { ok: true; value: Payload } | { ok: false; error: ProtocolError } {
    if (open.encoding === 'binary') return { ok: true, value: open.buffer };
    try {
      return { ok: true, value: JSON.parse(strictUtf8Decoder.decode(open.buffer)) as Payload };
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      return { ok: false, error: protocolError(ProtocolErrorCode.malformed, `reassembled JSON payload does not parse: ${reason}`) };
    }
  }

  /** Abandons the chunk's transfer (if open) and reports why; later chunks are dropped unless this was the last. */
  private reject(chunk: Chunk, code: ProtocolErrorCode, message: string, header?: ChunkHeaderOf<Chunk>): ChunkResult<Chunk> {
    this.release(chunk.transfer);
    if (!chunk.last) this.bury(chunk.transfer);
    const error = protocolError(code, message);
    return header === undefined
      ? { status: 'rejected', transfer: chunk.transfer, error }
      : { status: 'rejected', transfer: chunk.transfer, error, header };
  }

  private release(transfer: number): boolean {
    const open = this.transfers.get(transfer);
    if (open === undefined) return false;
    this.transfers.delete(transfer);
    this.reserved -= open.buffer.length;
    return true;
  }

  private bury(transfer: number): void {
    this.tombstones.delete(transfer);
    this.tombstones.add(transfer);
    if (this.tombstones.size > this.maxTombstones) {
      const oldest = this.tombstones.values().next();
      if (!oldest.done) this.tombstones.delete(oldest.value);
    }
  }
}
