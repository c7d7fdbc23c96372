// What the sans-I/O protocol takes (options, a compressor) and gives (events): the vocabulary its adapters
// and the permessage-deflate codec share, apart from the state machine itself.
import type { Role } from './constants.js';
import type { WebSocketError } from './errors.js';
import type { Platform } from './platform.js';

/**
 * What the protocol needs from a negotiated permessage-deflate (RFC 7692); `PerMessageDeflate` in
 * extensions/ provides it. Both calls are synchronous so the state machine stays a plain function of its
 * input.
 */
export interface MessageCompressor {
  /** Messages smaller than this many bytes go out uncompressed. */
  readonly threshold: number;
  compress(message: Uint8Array): Uint8Array;
  /**
   * Compresses one fragment of a message sent in several frames; called for each in order, with `fin` on
   * the last. Their outputs, concatenated, are the compressed message (RFC 7692 §7.2.1).
   */
  compressFragment(fragment: Uint8Array, fin: boolean): Uint8Array;
  /** Inflates one frame's payload of a compressed message; throws a WebSocketError (1009, 1007). */
  decompress(fragment: Uint8Array, fin: boolean): Uint8Array;
  close(): void;
}

export interface ProtocolOptions {
  role: Role;
  /**
   * Allocation, UTF-8 and randomness for this connection. Every byte array the protocol hands out is the
   * platform's, or a view of what `receiveData` was given.
   */
  platform: Platform;
  /**
   * Largest message accepted, in bytes after decompression; larger ones fail the connection with 1009.
   * @default 67108864 (64 MiB: conformance suites send 16 MiB messages; a broker sets its own, smaller)
   */
  maxMessageSize?: number;
  /** The negotiated permessage-deflate, if any. */
  compressor?: MessageCompressor | undefined;
  /**
   * Source of masking keys for the client role; injected by tests for exact bytes (RFC 6455 §5.3).
   * @default 4-byte keys from a process-wide pool that `platform.randomFill` refills every 1024 frames
   */
  generateMask?: (() => Uint8Array) | undefined;
}

export type ProtocolState = 'open' | 'closing' | 'closed';

export type ProtocolEvent =
  | { type: 'text'; data: string }
  | { type: 'binary'; data: Uint8Array }
  | { type: 'ping'; data: Uint8Array }
  | { type: 'pong'; data: Uint8Array }
  /** The peer's close frame arrived (code 1005 when it carried none). */
  | { type: 'close'; code: number; reason: string }
  /**
   * The connection failed (the peer broke the protocol): a close frame with `error.closeCode` is queued
   * and the transport should end. When events came before it, it comes in a later batch: see `eventsReceived`.
   */
  | { type: 'error'; error: WebSocketError };

export interface SendOptions {
  /**
   * Compress this message when permessage-deflate is active and it reaches the threshold. For a message
   * sent in fragments, the first fragment's option decides, and the threshold does not apply (the size of
   * the whole message is not known when its first fragment goes). @default true
   */
  compress?: boolean;
}
