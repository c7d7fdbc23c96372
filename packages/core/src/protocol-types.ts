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
  /** Compresses one whole message, to go out in a single frame with RSV1 set (RFC 7692 §7.2.1). */
  compress(message: Uint8Array): Uint8Array;
  /**
   * Compresses one fragment of a message sent in several frames; called for each in order, with `fin` on
   * the last. Their outputs, concatenated, are the compressed message (RFC 7692 §7.2.1).
   */
  compressFragment(fragment: Uint8Array, fin: boolean): Uint8Array;
  /** Inflates one frame's payload of a compressed message; throws a WebSocketError (1009, 1007). */
  decompress(fragment: Uint8Array, fin: boolean): Uint8Array;
  /** Frees both zlib streams; called once when the connection ends. */
  close(): void;
}

/** How a `Protocol` is set up: one connection's side, limits and negotiated compression. */
export interface ProtocolOptions {
  /** The side of the connection this endpoint is; it decides masking in both directions. */
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

/**
 * Where a `Protocol` is: `open` until a close frame is sent or received, `closing` while the closing
 * handshake runs, `closed` once both close frames crossed or the connection failed.
 */
export type ProtocolState = 'open' | 'closing' | 'closed';

/** What `Protocol.eventsReceived` hands out: a whole message, a control frame, the close or the failure. */
export type ProtocolEvent =
  | {
      /** A whole text message arrived. */
      type: 'text';
      /** Its text, already validated as UTF-8 (and inflated when it was compressed). */
      data: string;
    }
  | {
      /** A whole binary message arrived. */
      type: 'binary';
      /** Its bytes, inflated when it was compressed. */
      data: Uint8Array;
    }
  | {
      /** The peer pinged; the protocol has already queued the pong. */
      type: 'ping';
      /** The ping's payload (at most 125 bytes), echoed in the pong. */
      data: Uint8Array;
    }
  | {
      /** A pong arrived, the answer to a ping or an unsolicited heartbeat. */
      type: 'pong';
      /** The pong's payload. */
      data: Uint8Array;
    }
  | {
      /** The peer's close frame arrived. */
      type: 'close';
      /** Its status code, 1005 when it carried none. */
      code: number;
      /** Its reason, possibly empty. */
      reason: string;
    }
  /**
   * The connection failed (the peer broke the protocol): a close frame with `error.closeCode` is queued
   * and the transport should end. When events came before it, it comes in a later batch: see `eventsReceived`.
   */
  | {
      /** The connection failed. */
      type: 'error';
      /** Why: its `code` and the `closeCode` sent to the peer. */
      error: WebSocketError;
    };

/** Per-message choices of `Protocol.sendText`, `sendBinary` and `sendFragment`. */
export interface SendOptions {
  /**
   * Compress this message when permessage-deflate is active and it reaches the threshold. For a message
   * sent in fragments, the first fragment's option decides, and the threshold does not apply (the size of
   * the whole message is not known when its first fragment goes). @default true
   */
  compress?: boolean;
}
