import { concatBytes } from '../bytes.js';
import { CloseCode, type Role } from '../constants.js';
import { ErrorCode, WebSocketError } from '../errors.js';
import type { Platform, SyncZlib } from '../platform.js';
import type { MessageCompressor } from '../protocol-types.js';
import { checkWindowBits, WindowBits, type DeflateParams, type PerMessageDeflateOptions } from './permessage-deflate.js';

// Compression (RFC 7692 §7.2) for a connection whose parameters permessage-deflate.ts negotiated.

/** RFC 7692 §7.2.1: the empty stored block a sync flush ends with; stripped before sending, restored before inflating. */
const DEFLATE_TAIL = Uint8Array.of(0x00, 0x00, 0xff, 0xff);

/** RFC 7692 §7.2.3.6: an empty stored block less its 00 00 ff ff, the payload of an empty message. */
const EMPTY_MESSAGE_BYTE = 0x00;

/** zlib's own limits and defaults (zlib.h), which every binding of it shares. */
const Zlib = {
  defaultLevel: -1,
  maxLevel: 9,
  minMemLevel: 1,
  defaultMemLevel: 8,
  maxMemLevel: 9,
} as const;

const DEFAULT_THRESHOLD = 1024;
const DEFAULT_MAX_INFLATED_SIZE = 64 * 1024 * 1024;

function checkInteger(name: string, value: number, min: number, max: number): void {
  if (!(Number.isInteger(value) && value >= min && value <= max)) {
    throw new WebSocketError(ErrorCode.invalidArgument, `${name} must be an integer from ${min} to ${max}, got ${value}`);
  }
}

/** Limits of one connection's `PerMessageDeflate`: when to compress, and how far to inflate. */
export interface PerMessageDeflateCodecOptions {
  /** See {@link PerMessageDeflateOptions.threshold}. @default 1024 */
  threshold?: number;
  /**
   * Largest inflated size of one message; inflating stops as soon as it is crossed, so a small
   * compressed message that would inflate to gigabytes (a zip bomb) costs at most this much memory.
   * @default 67108864 (64 MiB, the protocol's default message limit; callers pass their own)
   */
  maxInflatedSize?: number;
  /** See {@link PerMessageDeflateOptions.level}. @default -1 */
  level?: number;
  /** See {@link PerMessageDeflateOptions.memLevel}. @default 8 */
  memLevel?: number;
}

/**
 * permessage-deflate for one connection (RFC 7692 §7.2): compresses the messages we send and inflates
 * the frames of compressed messages we receive, synchronously (through the platform's `SyncZlib`), so the
 * sans-I/O protocol stays a plain function of its input.
 *
 * Memory: zlib state exists only while it is needed. A side with no context takeover gets a fresh zlib
 * stream per message, freed at the message's end (a broker holds many idle connections; a deflate state is
 * about 256 KiB). With context takeover the stream lives as long as the connection, because the window it
 * holds is the shared history.
 */
export class PerMessageDeflate implements MessageCompressor {
  readonly threshold: number;
  private readonly maxInflatedSize: number;
  private readonly level: number;
  private readonly memLevel: number;
  /** Our deflater's window as zlib gets it (see `zlibDeflateWindowBits`). */
  private readonly deflateWindowBits: number;
  private readonly inflateWindowBits: number;
  private readonly deflateKeepsContext: boolean;
  private readonly inflateKeepsContext: boolean;
  private readonly platform: Platform;
  private deflater: SyncZlib | undefined;
  private inflater: SyncZlib | undefined;
  /** Inflated bytes of the message being received, against `maxInflatedSize`. */
  private inflatedBytes = 0;
  /** The peer ended its deflate stream (a block with BFINAL set, §7.2.3.4) inside this message. */
  private inflateEnded = false;
  private closed = false;

  constructor(role: Role, params: DeflateParams, options: PerMessageDeflateCodecOptions, platform: Platform) {
    checkWindowBits('serverMaxWindowBits', params.serverMaxWindowBits);
    checkWindowBits('clientMaxWindowBits', params.clientMaxWindowBits);
    this.threshold = options.threshold ?? DEFAULT_THRESHOLD;
    this.maxInflatedSize = options.maxInflatedSize ?? DEFAULT_MAX_INFLATED_SIZE;
    this.level = options.level ?? Zlib.defaultLevel;
    this.memLevel = options.memLevel ?? Zlib.defaultMemLevel;
    this.platform = platform;
    if (!(this.threshold >= 0)) {
      throw new WebSocketError(ErrorCode.invalidArgument, `threshold must be 0 or more, got ${this.threshold}`);
    }
    if (!(this.maxInflatedSize > 0)) {
      throw new WebSocketError(ErrorCode.invalidArgument, `maxInflatedSize must be positive, got ${this.maxInflatedSize}`);
    }
    checkInteger('level', this.level, Zlib.defaultLevel, Zlib.maxLevel);
    checkInteger('memLevel', this.memLevel, Zlib.minMemLevel, Zlib.maxMemLevel);
    const server = role === 'server';
    // §7.1.2: each side compresses within its own negotiated window and inflates within the peer's.
    const ourBits = server ? params.serverMaxWindowBits : params.clientMaxWindowBits;
    this.deflateWindowBits = zlibDeflateWindowBits(ourBits);
    this.inflateWindowBits = server ? params.clientMaxWindowBits : params.serverMaxWindowBits;
    this.deflateKeepsContext = !(server ? params.serverNoContextTakeover : params.clientNoContextTakeover);
    // A peer without context takeover never refers to earlier messages, so we need not remember them.
    this.inflateKeepsContext = !(server ? params.clientNoContextTakeover : params.serverNoContextTakeover);
  }

  /**
   * Compresses one whole message into the payload of a frame with RSV1 set (§7.2.1): deflate with a
   * sync flush, then drop the trailing 00 00 ff ff.
   */
  compress(message: Uint8Array): Uint8Array {
    return this.compressFragment(message, true);
  }

  /**
   * Compresses one fragment of a message sent in several frames; call it for each fragment in order, with
   * `fin` set on the last. Every fragment ends with a sync flush, so what it compressed to can go out at
   * once; only the last drops the trailing 00 00 ff ff (§7.2.1). The earlier ones keep theirs: an empty
   * stored block inside the message, which the peer's inflater passes over.
   */
  compressFragment(fragment: Uint8Array, fin: boolean): Uint8Array {
    this.assertOpen();
    const deflater = (this.deflater ??= this.platform.createDeflateRaw({
      level: this.level,
      memLevel: this.memLevel,
      windowBits: this.deflateWindowBits,
    }));
    let output: Uint8Array | undefined;
    try {
      // Z_SYNC_FLUSH, not Z_FINISH: it ends the message on a byte boundary with an empty stored block
      // (the 00 00 ff ff we strip, §7.2.1) but leaves the deflate stream open, so with context takeover
      // the LZ77 window still holds this message and the next one can refer back into it (§7.2.3.2).
      output = deflater.write(fragment, Number.POSITIVE_INFINITY);
    } catch (error) {
      this.releaseDeflater();
      throw deflateFailed(messageOf(error));
    }
    if (output === undefined) {
      this.releaseDeflater();
      throw deflateFailed('zlib output over its limit');
    }
    if (!fin) return output;
    if (!this.deflateKeepsContext) this.releaseDeflater();
    // zlib emits nothing for a sync flush with no new input since the last one (an empty message with
    // context takeover, or an empty last fragment). §7.2.1 says to append an empty stored block then,
    // which leaves the single 00 of §7.2.3.6 once its 00 00 ff ff is stripped.
    if (output.length === 0) {
      const payload = this.platform.alloc(1);
      payload[0] = EMPTY_MESSAGE_BYTE;
      return payload;
    }
    if (!endsWithTail(output)) {
      this.releaseDeflater();
      throw deflateFailed('sync flush did not end with an empty stored block');
    }
    return output.subarray(0, output.length - DEFLATE_TAIL.length);
  }

  /**
   * Inflates the payload of one frame of a compressed message; call it for each frame in order, with
   * `fin` set on the last. Returns the bytes this frame inflated to (possibly none).
   *
   * @throws WebSocketError `ERR_WS_MESSAGE_TOO_BIG` (1009) as soon as the message inflates past
   *   `maxInflatedSize`, having produced at most one output chunk beyond it.
   * @throws WebSocketError `ERR_WS_INVALID_COMPRESSED_DATA` (1007) when the data is not valid deflate.
   */
  decompress(fragment: Uint8Array, fin: boolean): Uint8Array {
    this.assertOpen();
    const inflater = (this.inflater ??= this.platform.createInflateRaw({ windowBits: this.inflateWindowBits }));
    let output: Uint8Array;
    try {
      output = this.inflate(inflater, fragment);
      // §7.2.2: the sender stripped the empty stored block's 00 00 ff ff; put it back.
      if (fin) output = this.concat(output, this.inflate(inflater, DEFLATE_TAIL));
    } catch (error) {
      this.endMessage(true);
      throw error;
    }
    if (fin) this.endMessage(!this.inflateKeepsContext || this.inflateEnded);
    return output;
  }

  /** Frees the zlib state; the instance is unusable afterwards. Safe to call more than once. */
  close(): void {
    this.closed = true;
    this.releaseDeflater();
    this.inflater?.close();
    this.inflater = undefined;
  }

  private inflate(inflater: SyncZlib, input: Uint8Array): Uint8Array {
    // After a final block the deflate stream is over; zlib would ignore the rest of the message anyway.
    if (this.inflateEnded) return this.platform.alloc(0);
    let output: Uint8Array | undefined;
    try {
      output = inflater.write(input, this.maxInflatedSize - this.inflatedBytes);
    } catch (error) {
      throw invalidData(messageOf(error));
    }
    if (output === undefined) {
      throw new WebSocketError(
        ErrorCode.messageTooBig,
        `message inflates to more than maxInflatedSize (${this.maxInflatedSize} bytes)`,
        CloseCode.messageTooBig,
      );
    }
    this.inflatedBytes += output.length;
    this.inflateEnded = inflater.ended;
    return output;
  }

  /**
   * A message ended (or failed). The inflater goes when the peer has no context takeover, on errors, and
   * after a final block: zlib cannot continue a finished stream, and a peer that sends BFINAL (§7.2.3.4)
   * starts its next message from an empty window.
   */
  private endMessage(releaseInflater: boolean): void {
    this.inflatedBytes = 0;
    this.inflateEnded = false;
    if (releaseInflater) {
      this.inflater?.close();
      this.inflater = undefined;
    }
  }

  private releaseDeflater(): void {
    this.deflater?.close();
    this.deflater = undefined;
  }

  private assertOpen(): void {
    if (this.closed) throw new WebSocketError(ErrorCode.notOpen, 'permessage-deflate context is closed');
  }

  private concat(first: Uint8Array, second: Uint8Array): Uint8Array {
    if (second.length === 0) return first;
    if (first.length === 0) return second;
    return concatBytes([first, second], first.length + second.length, this.platform);
  }
}

/**
 * The window our deflater gets from zlib for a negotiated `bits`. zlib (since 1.2.9) refuses raw deflate
 * with an 8-bit window and Node quietly turns 8 into 9; we do it here, visibly. It stays within the
 * negotiated 256 bytes because zlib never emits a match distance beyond MAX_DIST = window - 262
 * (MIN_LOOKAHEAD, deflate.c): a 9-bit window reaches back at most 250 bytes, and every window reaches
 * back less than its own size, so the peer's inflater can always follow. Our inflater needs no such
 * care: it accepts 8, and inflating with a window larger than the peer's is always safe.
 */
function zlibDeflateWindowBits(bits: number): number {
  return Math.max(bits, WindowBits.min + 1);
}

function endsWithTail(output: Uint8Array): boolean {
  const start = output.length - DEFLATE_TAIL.length;
  if (start < 0) return false;
  for (let i = 0; i < DEFLATE_TAIL.length; i++) if (output[start + i] !== DEFLATE_TAIL[i]) return false;
  return true;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function invalidData(message: string): WebSocketError {
  return new WebSocketError(ErrorCode.invalidCompressedData, `invalid compressed data: ${message}`, CloseCode.invalidPayload);
}

function deflateFailed(message: string): WebSocketError {
  return new WebSocketError(ErrorCode.compressionFailed, `compression failed: ${message}`, CloseCode.internalError);
}
