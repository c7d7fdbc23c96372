import { CloseCode, MAX_CONTROL_PAYLOAD, Opcode, type Role } from './constants.js';
import { ErrorCode, WebSocketError, protocolError } from './errors.js';
import type { Frame } from './frame.js';
import { jsMasker } from './mask.js';
import type { Platform } from './platform.js';

/** How a `FrameParser` checks frames: whose they are and how large they may be. */
export interface FrameParserOptions {
  /** Our side: a server requires masked frames, a client requires unmasked ones (RFC 6455 §5.1). */
  role: Role;
  /** RSV1 is legal only when permessage-deflate was negotiated (RFC 7692 §6). */
  allowRsv1: boolean;
  /** Data frames announcing a larger payload fail with 1009 before any of it is buffered. */
  maxPayloadLength: number;
  /** Where the copies of payloads that arrive split across chunks are allocated, and how payloads are unmasked. */
  platform: Platform;
}

/**
 * The frame parser's options, one frozen object for each kind of connection (the parser shares a frozen
 * one instead of copying it): servers of one process mostly need a single one.
 */
export function sharedParserOptions(role: Role, allowRsv1: boolean, maxPayloadLength: number, platform: Platform): FrameParserOptions {
  const key = `${role} ${allowRsv1} ${maxPayloadLength}`;
  let byPlatform = parserOptionsByKind.get(key);
  if (byPlatform === undefined) parserOptionsByKind.set(key, (byPlatform = new Map()));
  let options = byPlatform.get(platform);
  if (options === undefined) byPlatform.set(platform, (options = Object.freeze({ role, allowRsv1, maxPayloadLength, platform })));
  return options;
}

const parserOptionsByKind = new Map<string, Map<Platform, FrameParserOptions>>();

/** The list of an idle parser: an empty array per connection was 32 bytes of its heap (docs/benchmarks.md). */
const NO_CHUNKS: Uint8Array[] = Object.freeze([]) as unknown as Uint8Array[];

// The whole parser state is one small integer, as in ws's receiver: which part of a frame comes next.
const READ_HEADER = 0;
const READ_LENGTH_16 = 1;
const READ_LENGTH_64 = 2;
const READ_MASK = 3;
const READ_PAYLOAD = 4;

const FAILED = 5;

const VALID_OPCODES = new Set<number>(Object.values(Opcode));

/**
 * A resumable frame parser: feed it bytes in chunks of any size with `push`, take complete frames with
 * `read`. It never throws at its caller: a protocol violation sets `error` (with the close code the
 * connection must fail with) and the parser then yields nothing more.
 */
export class FrameParser {
  /** The violation that stopped the parser, with the close code to fail the connection with; else undefined. */
  error: WebSocketError | undefined;
  /**
   * Most payload bytes a continuation frame may announce. The message assembler lowers it to what is left
   * of the message limit while an uncompressed message is open, so a fragmented message that grows past
   * the limit fails at the header of the frame that crosses it, like a single frame does.
   * @default maxPayloadLength
   */
  continuationLimit: number;

  private options: FrameParserOptions;
  /** Unconsumed reads, oldest first; the shared empty list while there are none (most of an idle connection's life). */
  private chunks: Uint8Array[] = NO_CHUNKS;
  private buffered = 0;
  private state = READ_HEADER;
  /** The frame's first two bytes: FIN, RSV1, the opcode and the MASK bit are read from it (one field, not four). */
  private header = 0;
  private payloadLength = 0;
  /** The frame's masking key as one 32-bit number: a Uint8Array per connection would cost ~180 bytes. */
  private maskKey = 0;
  /** How much of `chunks[0]` is already consumed: header bytes are read in place, never sliced off. */
  private headOffset = 0;

  constructor(options: FrameParserOptions) {
    // A frozen options object cannot change under us, so it is shared (Protocol passes one per kind of
    // connection): a copy per connection was ~56 bytes of each idle one.
    this.options = Object.isFrozen(options) ? options : { ...options };
    this.continuationLimit = options.maxPayloadLength;
  }

  /**
   * While a frame's payload is still arriving: its opcode, else -1. With `frameRsv1` and `payloadReceived`
   * it lets the protocol check text before the frame is complete (UTF-8 fail-fast, RFC 6455 §8.1).
   */
  get payloadOpcode(): number {
    return this.state === READ_PAYLOAD ? this.opcode : -1;
  }

  /** RSV1 of the frame being read: set on the first frame of a compressed message (RFC 7692 §6). */
  get frameRsv1(): boolean {
    return this.rsv1;
  }

  /** Payload bytes of the frame in progress that have arrived. */
  get payloadReceived(): number {
    return this.state === READ_PAYLOAD ? Math.min(this.buffered, this.payloadLength) : 0;
  }

  /** An unmasked copy of payload bytes `from` to `to` of the frame in progress (`to` <= `payloadReceived`). */
  peekPayload(from: number, to: number): Uint8Array {
    const out = this.options.platform.alloc(to - from);
    const masker = this.options.platform.masker ?? jsMasker;
    let index = this.headOffset + from;
    let chunk = 0;
    while (index >= this.chunks[chunk]!.length) index -= this.chunks[chunk++]!.length;
    for (let filled = 0; filled < out.length; chunk++, index = 0) {
      const source = this.chunks[chunk]!;
      const take = Math.min(source.length - index, out.length - filled);
      if (this.masked) masker.maskInto(range(source, index, index + take), out, filled, this.maskKey, from + filled);
      else copyRange(source, index, index + take, out, filled);
      filled += take;
    }
    return out;
  }

  /** Bytes received but not yet consumed into a frame. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** The options it runs with: a `Protocol` reads its role, size limit and platform here rather than keep copies. */
  get settings(): FrameParserOptions {
    return this.options;
  }

  /** Later frames may legally use RSV1 once an extension that defines it is active. */
  set allowRsv1(allow: boolean) {
    // A shared options object is left as it is: this parser gets its own copy.
    if (this.options.allowRsv1 !== allow) this.options = { ...this.options, allowRsv1: allow };
  }

  /**
   * Adds bytes to parse. The parser keeps `chunk` and unmasks payloads in place, and the frames it returns
   * may be views of it: the caller hands the chunk over and must not reuse it.
   */
  push(chunk: Uint8Array): void {
    if (this.state === FAILED || chunk.length === 0) return;
    if (this.chunks === NO_CHUNKS) this.chunks = [chunk];
    else this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** The next complete frame, or undefined when more bytes are needed or the stream has failed. */
  read(): Frame | undefined {
    for (;;) {
      switch (this.state) {
        case READ_HEADER:
          if (this.buffered < 2) return undefined;
          this.readHeader();
          break;
        case READ_LENGTH_16:
          if (this.buffered < 2) return undefined;
          this.payloadLength = (this.byteAt(0) << 8) | this.byteAt(1);
          this.skip(2);
          this.afterLength();
          break;
        case READ_LENGTH_64:
          if (this.buffered < 8) return undefined;
          this.readLength64();
          break;
        case READ_MASK:
          if (this.buffered < 4) return undefined;
          this.maskKey = ((this.byteAt(0) << 24) | (this.byteAt(1) << 16) | (this.byteAt(2) << 8) | this.byteAt(3)) >>> 0;
          this.skip(4);
          this.state = READ_PAYLOAD;
          break;
        case READ_PAYLOAD:
          if (this.buffered < this.payloadLength) return undefined;
          return this.readPayload();
        default:
          return undefined;
      }
    }
  }

  private readHeader(): void {
    const first = this.byteAt(0);
    const second = this.byteAt(1);
    this.skip(2);
    this.header = (first << 8) | second;
    this.payloadLength = second & 0x7f;
    const isControl = this.opcode >= 0x8;

    // §5.2: RSV2/RSV3 are meaningful only with an extension that defines them; none of ours does.
    if ((first & 0x30) !== 0) return this.fail(protocolError(ErrorCode.unexpectedRsv, 'RSV2 or RSV3 set'));
    if (!VALID_OPCODES.has(this.opcode)) {
      return this.fail(protocolError(ErrorCode.invalidOpcode, `reserved opcode 0x${this.opcode.toString(16)}`));
    }
    // RFC 7692 §6.1: RSV1 marks the first frame of a compressed data message, never a control frame
    // or a continuation.
    if (this.rsv1 && (!this.options.allowRsv1 || isControl || this.opcode === Opcode.continuation)) {
      return this.fail(protocolError(ErrorCode.unexpectedRsv, 'RSV1 set without a negotiated extension'));
    }
    if (isControl) {
      // §5.5: "All control frames MUST have a payload length of 125 bytes or less and MUST NOT be fragmented."
      if (!this.fin) return this.fail(protocolError(ErrorCode.fragmentedControlFrame, 'fragmented control frame'));
      if (this.payloadLength > MAX_CONTROL_PAYLOAD) {
        return this.fail(protocolError(ErrorCode.controlFrameTooLong, 'control frame payload over 125 bytes'));
      }
    }
    // §5.1: a server must close on an unmasked frame; a client must close on a masked one.
    if (this.options.role === 'server' && !this.masked) {
      return this.fail(protocolError(ErrorCode.expectedMask, 'client frame is not masked'));
    }
    if (this.options.role === 'client' && this.masked) {
      return this.fail(protocolError(ErrorCode.unexpectedMask, 'server frame is masked'));
    }
    if (this.payloadLength === 126) this.state = READ_LENGTH_16;
    else if (this.payloadLength === 127) this.state = READ_LENGTH_64;
    else this.afterLength();
  }

  private get fin(): boolean {
    return (this.header & 0x8000) !== 0;
  }

  private get rsv1(): boolean {
    return (this.header & 0x4000) !== 0;
  }

  private get opcode(): number {
    return (this.header >> 8) & 0x0f;
  }

  private get masked(): boolean {
    return (this.header & 0x80) !== 0;
  }

  private readLength64(): void {
    const high = ((this.byteAt(0) << 24) | (this.byteAt(1) << 16) | (this.byteAt(2) << 8) | this.byteAt(3)) >>> 0;
    const low = ((this.byteAt(4) << 24) | (this.byteAt(5) << 16) | (this.byteAt(6) << 8) | this.byteAt(7)) >>> 0;
    this.skip(8);
    // §5.2: "the most significant bit MUST be 0".
    if (high & 0x80000000) return this.fail(protocolError(ErrorCode.invalidLength, '64-bit length has its top bit set'));
    // Anything at or over 2^53 cannot be a JS length; it is certainly over any message limit.
    if (high > 0x1fffff) return this.fail(tooBig());
    this.payloadLength = high * 0x100000000 + low;
    this.afterLength();
  }

  private afterLength(): void {
    if (this.opcode < 0x8) {
      const limit = this.opcode === Opcode.continuation ? this.continuationLimit : this.options.maxPayloadLength;
      if (this.payloadLength > limit) return this.fail(tooBig());
    }
    this.state = this.masked ? READ_MASK : READ_PAYLOAD;
  }

  private readPayload(): Frame {
    // An empty payload is rare (empty pings, empty messages); a fresh empty array keeps it the platform's type.
    const payload = this.payloadLength === 0 ? this.options.platform.alloc(0) : this.consumePayload(this.payloadLength);
    this.state = READ_HEADER;
    return { fin: this.fin, rsv1: this.rsv1, opcode: this.opcode, payload };
  }

  private fail(error: WebSocketError): void {
    this.error = error;
    this.state = FAILED;
    this.chunks = NO_CHUNKS;
    this.buffered = 0;
    this.headOffset = 0;
  }

  /** Drops the first `used` chunks, all of them read. */
  private dropChunks(used: number): void {
    if (used === this.chunks.length) this.chunks = NO_CHUNKS;
    else this.chunks.splice(0, used);
  }

  /** The `i`-th unconsumed byte; callers have checked that `buffered > i`. */
  private byteAt(i: number): number {
    let index = this.headOffset + i;
    let chunk = 0;
    while (index >= this.chunks[chunk]!.length) index -= this.chunks[chunk++]!.length;
    return this.chunks[chunk]![index]!;
  }

  /** Drops `n` bytes off the front. */
  private skip(n: number): void {
    this.buffered -= n;
    let remaining = this.headOffset + n;
    let used = 0;
    while (used < this.chunks.length && remaining >= this.chunks[used]!.length) remaining -= this.chunks[used++]!.length;
    if (used > 0) this.dropChunks(used);
    this.headOffset = remaining;
  }

  /**
   * Takes the payload (`n` bytes) off the front, unmasked: a view unmasked in place when it lies in one
   * chunk, else one copy that joins the pieces and unmasks them as it goes.
   */
  private consumePayload(n: number): Uint8Array {
    const masker = this.options.platform.masker ?? jsMasker;
    const head = this.chunks[0]!;
    const start = this.headOffset;
    if (start + n <= head.length) {
      const view = start === 0 && n === head.length ? head : head.subarray(start, start + n);
      this.skip(n);
      if (this.masked) masker.mask(view, this.maskKey, 0);
      return view;
    }
    this.buffered -= n;
    const out = this.options.platform.alloc(n);
    let filled = 0;
    let used = 0;
    let offset = start;
    // Walk the list and drop the used chunks with one splice: a shift per chunk is quadratic when a large
    // frame arrives in many small reads (64 KiB fed a byte at a time took seconds).
    while (filled < n) {
      const chunk = this.chunks[used]!;
      const take = Math.min(chunk.length - offset, n - filled);
      if (this.masked) masker.maskInto(range(chunk, offset, offset + take), out, filled, this.maskKey, filled);
      else copyRange(chunk, offset, offset + take, out, filled);
      filled += take;
      if (offset + take === chunk.length) {
        used++;
        offset = 0;
      } else {
        offset += take;
      }
    }
    this.dropChunks(used);
    this.headOffset = offset;
    return out;
  }
}

/** `source[from..to)`: the chunk itself when that is all of it, without creating a view. */
function range(source: Uint8Array, from: number, to: number): Uint8Array {
  return from === 0 && to === source.length ? source : source.subarray(from, to);
}

/** `source[from..to)` into `target` at `at`. */
function copyRange(source: Uint8Array, from: number, to: number, target: Uint8Array, at: number): void {
  target.set(range(source, from, to), at);
}

function tooBig(): WebSocketError {
  return new WebSocketError(ErrorCode.messageTooBig, 'frame exceeds the maximum message size', CloseCode.messageTooBig);
}
