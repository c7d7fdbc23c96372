import { constants as zlibConstants, createDeflateRaw, createInflateRaw, type DeflateRaw, type InflateRaw } from 'node:zlib';
import { CloseCode, type Role } from '../constants.js';
import { ErrorCode, WebSocketError } from '../errors.js';
import type { MessageCompressor } from '../protocol.js';
import { formatExtension, type ExtensionOffer, type ExtensionParamValue } from './extension-header.js';

/** RFC 7692 §7: the extension token. */
export const PERMESSAGE_DEFLATE = 'permessage-deflate';

/** RFC 7692 §7.1: the only parameters an offer or a response may carry. */
export const DeflateParam = {
  serverNoContextTakeover: 'server_no_context_takeover',
  clientNoContextTakeover: 'client_no_context_takeover',
  serverMaxWindowBits: 'server_max_window_bits',
  clientMaxWindowBits: 'client_max_window_bits',
} as const;
export type DeflateParam = (typeof DeflateParam)[keyof typeof DeflateParam];

/** RFC 7692 §7.1.2: LZ77 window sizes, as base-2 logarithms. */
export const WindowBits = { min: 8, max: 15 } as const;

/**
 * RFC 7692 §7.1.2.1: "a decimal integer value without leading zeroes between 8 to 15, inclusive".
 * Matching the text rather than `Number()` rejects `08`, `+9`, `0x9` and `9.0`.
 */
const WINDOW_BITS_VALUE = /^(?:[89]|1[0-5])$/;

/** RFC 7692 §7.2.1: the empty stored block a sync flush ends with; stripped before sending, restored before inflating. */
const DEFLATE_TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/** RFC 7692 §7.2.3.6: an empty stored block less its 00 00 ff ff, the payload of an empty message. */
const EMPTY_MESSAGE_PAYLOAD = Buffer.from([0x00]);

const DEFAULT_THRESHOLD = 1024;
const DEFAULT_MAX_INFLATED_SIZE = 64 * 1024 * 1024;

export interface PerMessageDeflateOptions {
  /**
   * Server: answer with `server_no_context_takeover`, so each message we send is compressed on its own.
   * Client: ask the server for that in the offer. A server always honours the request when a client
   * makes it (RFC 7692 §7.1.1.1), whatever this option says.
   * @default true for a server answering: the broker compresses a broadcast once and sends the same frame
   *   to every subscriber, which is only valid when no frame depends on a per-connection history.
   *   false for a client offering: the server decides, and ours decides for no takeover anyway.
   */
  serverNoContextTakeover?: boolean;
  /**
   * Server: answer with `client_no_context_takeover`, forbidding the client to refer back to earlier
   * messages. Client: offer it, promising not to (§7.1.1.2).
   * @default false: the history costs the receiver one window (2^client_max_window_bits bytes) per
   *   connection, and only on connections that send compressed messages; it buys a much better ratio on
   *   the small, repetitive messages of a pub/sub session.
   */
  clientNoContextTakeover?: boolean;
  /**
   * Server: the largest window our deflater uses; a client's `server_max_window_bits=N` lowers it to N.
   * Client: offered as `server_max_window_bits`, a limit the server must accept or the offer fails.
   * Range 8..15.
   * @default 15 for a server (zlib's largest window, best ratio); not offered by a client (no limit).
   */
  serverMaxWindowBits?: number;
  /**
   * Server: the largest window the client may use, answered only when the client's offer carries
   * `client_max_window_bits` (§7.1.2.2 forbids it otherwise; such offers are accepted with 15).
   * Client: offered as `client_max_window_bits=N`, the window we promise not to exceed; without it the
   * offer carries a bare `client_max_window_bits` so the server may still pick a limit. Range 8..15.
   * @default 15: no limit, the best ratio; set it lower to save inflate memory per connection.
   */
  clientMaxWindowBits?: number;
  /**
   * Messages smaller than this many bytes are sent uncompressed.
   * @default 1024: below about 1 KiB deflate saves a few bytes at best and costs a zlib call per message.
   */
  threshold?: number;
  /**
   * zlib compression level, 0..9 (or -1 for zlib's default).
   * @default -1 (zlib's default, level 6): the usual balance of speed and ratio.
   */
  level?: number;
  /**
   * zlib memLevel, 1..9: memory for the deflater's internal state, 2^(memLevel + 9) bytes for hashing.
   * @default 8 (zlib's default): level 9 gains little ratio for twice the memory.
   */
  memLevel?: number;
}

/** The agreed parameters of one connection (RFC 7692 §7.1), the same on both sides. */
export interface DeflateParams {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits: number;
  clientMaxWindowBits: number;
}

// ---------------------------------------------------------------------------------------------------------
// Negotiation (RFC 7692 §5, §7.1)
// ---------------------------------------------------------------------------------------------------------

/** The client's `Sec-WebSocket-Extensions` value offering permessage-deflate with `options`. */
export function deflateOffer(options: PerMessageDeflateOptions = {}): string {
  checkOptions(options);
  const params: [string, ExtensionParamValue][] = [];
  if (options.serverNoContextTakeover === true) params.push([DeflateParam.serverNoContextTakeover, true]);
  if (options.clientNoContextTakeover === true) params.push([DeflateParam.clientNoContextTakeover, true]);
  if (options.serverMaxWindowBits !== undefined) {
    params.push([DeflateParam.serverMaxWindowBits, String(options.serverMaxWindowBits)]);
  }
  // §7.1.2.2: always offered, so a server short of memory may limit our window rather than decline.
  params.push([
    DeflateParam.clientMaxWindowBits,
    options.clientMaxWindowBits === undefined ? true : String(options.clientMaxWindowBits),
  ]);
  return formatExtension(PERMESSAGE_DEFLATE, params);
}

/**
 * Server side: accepts the first permessage-deflate offer it can (the client lists them in order of
 * preference, RFC 6455 §9.1) and returns the agreed parameters with the response header value, or
 * undefined when every offer had to be declined. Offers of other extensions are skipped.
 *
 * RFC 7692 §5: a server MUST decline an offer that has a parameter not defined for offers, a parameter
 * with an invalid value, or the same parameter twice.
 */
export function negotiateDeflate(
  offers: readonly ExtensionOffer[],
  options: PerMessageDeflateOptions = {},
): { params: DeflateParams; response: string } | undefined {
  checkOptions(options);
  for (const offer of offers) {
    if (offer.name !== PERMESSAGE_DEFLATE) continue;
    const accepted = acceptOffer(offer, options);
    if (accepted !== undefined) return accepted;
  }
  return undefined;
}

function acceptOffer(
  offer: ExtensionOffer,
  options: PerMessageDeflateOptions,
): { params: DeflateParams; response: string } | undefined {
  if (offer.duplicateParams.length > 0) return undefined;
  let serverNoContextTakeover = options.serverNoContextTakeover ?? true;
  let clientNoContextTakeover = options.clientNoContextTakeover ?? false;
  let serverMaxWindowBits = options.serverMaxWindowBits ?? WindowBits.max;
  let serverBitsRequested = false;
  let clientBitsOffered: number | undefined;
  for (const [name, value] of offer.params) {
    switch (name) {
      case DeflateParam.serverNoContextTakeover:
        if (value !== true) return undefined;
        serverNoContextTakeover = true;
        break;
      case DeflateParam.clientNoContextTakeover:
        if (value !== true) return undefined;
        // §7.1.1.2: the client will not use context takeover whatever we answer; saying so keeps both
        // sides' view of the agreement identical.
        clientNoContextTakeover = true;
        break;
      case DeflateParam.serverMaxWindowBits: {
        const bits = parseWindowBits(value);
        if (bits === undefined) return undefined;
        // §7.1.2.1: accepted by answering "the same or smaller value as the offer".
        serverMaxWindowBits = Math.min(serverMaxWindowBits, bits);
        serverBitsRequested = true;
        break;
      }
      case DeflateParam.clientMaxWindowBits: {
        // §7.1.2.2: the value is optional in an offer; a bare parameter only says "you may limit me".
        const bits = value === true ? WindowBits.max : parseWindowBits(value);
        if (bits === undefined) return undefined;
        clientBitsOffered = bits;
        break;
      }
      default:
        return undefined;
    }
  }
  // §7.1.2.2: without client_max_window_bits in the offer the response MUST NOT carry it, so the client
  // may use the full window.
  const clientMaxWindowBits =
    clientBitsOffered === undefined
      ? WindowBits.max
      : Math.min(clientBitsOffered, options.clientMaxWindowBits ?? WindowBits.max);

  const response: [string, ExtensionParamValue][] = [];
  if (serverNoContextTakeover) response.push([DeflateParam.serverNoContextTakeover, true]);
  if (clientNoContextTakeover) response.push([DeflateParam.clientNoContextTakeover, true]);
  // §7.1.2.1: a server MAY include server_max_window_bits even when the offer did not.
  if (serverBitsRequested || serverMaxWindowBits < WindowBits.max) {
    response.push([DeflateParam.serverMaxWindowBits, String(serverMaxWindowBits)]);
  }
  if (clientBitsOffered !== undefined && clientMaxWindowBits < WindowBits.max) {
    response.push([DeflateParam.clientMaxWindowBits, String(clientMaxWindowBits)]);
  }
  return {
    params: { serverNoContextTakeover, clientNoContextTakeover, serverMaxWindowBits, clientMaxWindowBits },
    response: formatExtension(PERMESSAGE_DEFLATE, response),
  };
}

/**
 * Client side: checks the server's accepted permessage-deflate against the offer `deflateOffer(options)`
 * made, and returns the agreed parameters.
 *
 * @throws WebSocketError `ERR_WS_INVALID_EXTENSION` with close code 1010 when RFC 7692 §5 makes the client
 *   fail the connection: an unknown parameter, an invalid value, a repeated parameter, or a configuration
 *   the offer did not allow (a larger server window than requested, an ignored request for
 *   server_no_context_takeover).
 */
export function acceptDeflateResponse(response: ExtensionOffer, options: PerMessageDeflateOptions = {}): DeflateParams {
  checkOptions(options);
  if (response.name !== PERMESSAGE_DEFLATE) fail(`server accepted ${response.name}, not ${PERMESSAGE_DEFLATE}`);
  const [duplicate] = response.duplicateParams;
  if (duplicate !== undefined) fail(`server repeated ${duplicate}`);
  let serverNoContextTakeover = false;
  // §7.1.1.2: having offered client_no_context_takeover, we do not use context takeover either way.
  let clientNoContextTakeover = options.clientNoContextTakeover === true;
  let serverMaxWindowBits: number | undefined;
  let clientMaxWindowBits = options.clientMaxWindowBits ?? WindowBits.max;
  for (const [name, value] of response.params) {
    switch (name) {
      case DeflateParam.serverNoContextTakeover:
        // §7.1.1.1: a server may answer with it even when we did not ask.
        if (value !== true) fail(`${name} takes no value`);
        serverNoContextTakeover = true;
        break;
      case DeflateParam.clientNoContextTakeover:
        if (value !== true) fail(`${name} takes no value`);
        clientNoContextTakeover = true;
        break;
      case DeflateParam.serverMaxWindowBits: {
        const bits = parseWindowBits(value);
        if (bits === undefined) fail(`invalid ${name}`);
        if (options.serverMaxWindowBits !== undefined && bits > options.serverMaxWindowBits) {
          fail(`${name}=${bits} exceeds the ${options.serverMaxWindowBits} we offered`);
        }
        serverMaxWindowBits = bits;
        break;
      }
      case DeflateParam.clientMaxWindowBits: {
        // In a response the value is required (§7.1.2.2). A value above the one we offered is allowed,
        // the server "may either ignore this value or use" it; we keep to the smaller one.
        const bits = parseWindowBits(value);
        if (bits === undefined) fail(`invalid ${name}`);
        clientMaxWindowBits = Math.min(clientMaxWindowBits, bits);
        break;
      }
      default:
        fail(`unknown parameter ${name}`);
    }
  }
  // §7.1.1.1 / §7.1.2.1: a server accepts these requests by echoing them; an answer without them
  // accepted no offer we made.
  if (options.serverNoContextTakeover === true && !serverNoContextTakeover) {
    fail(`server ignored the requested ${DeflateParam.serverNoContextTakeover}`);
  }
  if (options.serverMaxWindowBits !== undefined && serverMaxWindowBits === undefined) {
    fail(`server ignored the requested ${DeflateParam.serverMaxWindowBits}`);
  }
  return {
    serverNoContextTakeover,
    clientNoContextTakeover,
    serverMaxWindowBits: serverMaxWindowBits ?? WindowBits.max,
    clientMaxWindowBits,
  };
}

function parseWindowBits(value: ExtensionParamValue): number | undefined {
  return value !== true && WINDOW_BITS_VALUE.test(value) ? Number(value) : undefined;
}

function fail(message: string): never {
  throw new WebSocketError(ErrorCode.invalidExtension, `Invalid permessage-deflate response: ${message}`, CloseCode.mandatoryExtension);
}

function checkOptions(options: PerMessageDeflateOptions): void {
  checkWindowBits('serverMaxWindowBits', options.serverMaxWindowBits);
  checkWindowBits('clientMaxWindowBits', options.clientMaxWindowBits);
}

function checkWindowBits(name: string, bits: number | undefined): void {
  if (bits !== undefined && !(Number.isInteger(bits) && bits >= WindowBits.min && bits <= WindowBits.max)) {
    throw new WebSocketError(ErrorCode.invalidArgument, `${name} must be an integer from 8 to 15, got ${bits}`);
  }
}

function checkInteger(name: string, value: number, min: number, max: number): void {
  if (!(Number.isInteger(value) && value >= min && value <= max)) {
    throw new WebSocketError(ErrorCode.invalidArgument, `${name} must be an integer from ${min} to ${max}, got ${value}`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Compression (RFC 7692 §7.2)
// ---------------------------------------------------------------------------------------------------------

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
 * permessage-deflate for one connection (RFC 7692 §7.2): compresses whole messages we send and inflates
 * the frames of compressed messages we receive, synchronously, so the sans-I/O protocol stays a plain
 * function of its input.
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
  private deflater: SyncZlib | undefined;
  private inflater: SyncZlib | undefined;
  /** Inflated bytes of the message being received, against `maxInflatedSize`. */
  private inflatedBytes = 0;
  /** The peer ended its deflate stream (a block with BFINAL set, §7.2.3.4) inside this message. */
  private inflateEnded = false;
  private closed = false;

  constructor(role: Role, params: DeflateParams, options: PerMessageDeflateCodecOptions = {}) {
    checkWindowBits('serverMaxWindowBits', params.serverMaxWindowBits);
    checkWindowBits('clientMaxWindowBits', params.clientMaxWindowBits);
    this.threshold = options.threshold ?? DEFAULT_THRESHOLD;
    this.maxInflatedSize = options.maxInflatedSize ?? DEFAULT_MAX_INFLATED_SIZE;
    this.level = options.level ?? zlibConstants.Z_DEFAULT_COMPRESSION;
    this.memLevel = options.memLevel ?? zlibConstants.Z_DEFAULT_MEMLEVEL;
    if (!(this.threshold >= 0)) {
      throw new WebSocketError(ErrorCode.invalidArgument, `threshold must be 0 or more, got ${this.threshold}`);
    }
    if (!(this.maxInflatedSize > 0)) {
      throw new WebSocketError(ErrorCode.invalidArgument, `maxInflatedSize must be positive, got ${this.maxInflatedSize}`);
    }
    checkInteger('level', this.level, zlibConstants.Z_DEFAULT_COMPRESSION, zlibConstants.Z_MAX_LEVEL);
    checkInteger('memLevel', this.memLevel, zlibConstants.Z_MIN_MEMLEVEL, zlibConstants.Z_MAX_MEMLEVEL);
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
  compress(message: Buffer): Buffer {
    this.assertOpen();
    const deflater = (this.deflater ??= new SyncZlib(
      createDeflateRaw({ level: this.level, memLevel: this.memLevel, windowBits: this.deflateWindowBits }),
      deflateFailed,
    ));
    let output: Buffer;
    try {
      // Z_SYNC_FLUSH, not Z_FINISH: it ends the message on a byte boundary with an empty stored block
      // (the 00 00 ff ff we strip, §7.2.1) but leaves the deflate stream open, so with context takeover
      // the LZ77 window still holds this message and the next one can refer back into it (§7.2.3.2).
      output = deflater.write(message, zlibConstants.Z_SYNC_FLUSH);
    } catch (error) {
      this.releaseDeflater();
      throw error;
    }
    if (!this.deflateKeepsContext) this.releaseDeflater();
    // zlib emits nothing for a sync flush with no new input since the last one (an empty message with
    // context takeover). §7.2.1 says to append an empty stored block then, which leaves the single 00
    // of §7.2.3.6 once its 00 00 ff ff is stripped.
    if (output.length === 0) return Buffer.from(EMPTY_MESSAGE_PAYLOAD);
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
  decompress(fragment: Buffer, fin: boolean): Buffer {
    this.assertOpen();
    const inflater = (this.inflater ??= new SyncZlib(createInflateRaw({ windowBits: this.inflateWindowBits }), invalidData));
    let output: Buffer;
    try {
      output = this.inflate(inflater, fragment);
      // §7.2.2: the sender stripped the empty stored block's 00 00 ff ff; put it back.
      if (fin) output = concat(output, this.inflate(inflater, DEFLATE_TAIL));
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

  private inflate(inflater: SyncZlib, input: Buffer): Buffer {
    // After a final block the deflate stream is over; zlib would ignore the rest of the message anyway.
    if (this.inflateEnded) return EMPTY;
    const output = inflater.write(input, zlibConstants.Z_SYNC_FLUSH, this.maxInflatedSize - this.inflatedBytes, () =>
      new WebSocketError(
        ErrorCode.messageTooBig,
        `message inflates to more than maxInflatedSize (${this.maxInflatedSize} bytes)`,
        CloseCode.messageTooBig,
      ),
    );
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

function endsWithTail(output: Buffer): boolean {
  return output.length >= DEFLATE_TAIL.length && DEFLATE_TAIL.equals(output.subarray(output.length - DEFLATE_TAIL.length));
}

function concat(first: Buffer, second: Buffer): Buffer {
  if (second.length === 0) return first;
  if (first.length === 0) return second;
  return Buffer.concat([first, second]);
}

function invalidData(message: string): WebSocketError {
  return new WebSocketError(ErrorCode.invalidCompressedData, `invalid compressed data: ${message}`, CloseCode.invalidPayload);
}

function deflateFailed(message: string): WebSocketError {
  return new WebSocketError(ErrorCode.compressionFailed, `compression failed: ${message}`, CloseCode.internalError);
}

function outputTooBig(): WebSocketError {
  return new WebSocketError(ErrorCode.messageTooBig, 'zlib output over its limit', CloseCode.messageTooBig);
}

const EMPTY = Buffer.alloc(0);

// ---------------------------------------------------------------------------------------------------------
// Synchronous zlib with a persistent stream
// ---------------------------------------------------------------------------------------------------------

/** Output is produced through one shared buffer: everything here is synchronous, so no call can overlap. */
const OUTPUT_CHUNK_SIZE = 64 * 1024;
let outputChunk: Buffer | undefined;

/** The native handle behind a Node zlib stream, as lib/zlib.js drives it. */
interface ZlibHandle {
  writeSync(
    flush: number,
    input: Uint8Array,
    inputOffset: number,
    inputLength: number,
    output: Uint8Array,
    outputOffset: number,
    outputLength: number,
  ): void;
  onerror: (message: string, errno: number, code?: string) => void;
}

interface ZlibInternals {
  _handle?: ZlibHandle | null;
  /** [output space left, input left] after each write. */
  _writeState?: Uint32Array;
}

/**
 * A Node zlib stream driven synchronously and kept open across calls.
 *
 * Why not `stream._processChunk(chunk, flush)`: without a callback it does run synchronously (it is what
 * `deflateRawSync` is built on) but it ends by closing the stream (processChunkSync calls `_close(self)`,
 * lib/zlib.js, every Node release since 10), which frees the zlib state after one call: fine for one-shot
 * `*Sync` helpers, useless for a context that must outlive a message. So this does what processChunkSync
 * does, minus the close: call the native handle's `writeSync` and read from `_writeState` how much output
 * space and input are left, looping while zlib fills the output. The handle reports errors by calling
 * `onerror` synchronously inside `writeSync`; ours records them, so a corrupt message throws here rather
 * than destroying the stream and emitting 'error' on a later tick.
 *
 * These are Node internals, unchanged since Node 10 (Bun mirrors them); the constructor checks they are
 * there, so a change shows as one clear error, and the permessage-deflate tests exercise every path.
 */
class SyncZlib {
  /** The stream reached its end (a block with BFINAL set); zlib will consume no more input. */
  ended = false;
  private readonly stream: DeflateRaw | InflateRaw;
  private readonly handle: ZlibHandle;
  private readonly state: Uint32Array;
  private readonly toError: (message: string) => WebSocketError;
  private error: string | undefined;

  constructor(stream: DeflateRaw | InflateRaw, toError: (message: string) => WebSocketError) {
    const internals = stream as unknown as ZlibInternals;
    const handle = internals._handle;
    const state = internals._writeState;
    if (typeof handle?.writeSync !== 'function' || !(state instanceof Uint32Array) || state.length < 2) {
      stream.destroy();
      throw new Error('node:zlib internals changed: permessage-deflate needs the stream handle writeSync and _writeState');
    }
    this.stream = stream;
    this.handle = handle;
    this.state = state;
    this.toError = toError;
    handle.onerror = (message: string) => {
      this.error = message;
    };
  }

  /** Runs `input` through zlib with `flush`; throws `tooBig()` as soon as the output exceeds `limit` bytes. */
  write(input: Buffer, flush: number, limit = Number.POSITIVE_INFINITY, tooBig = outputTooBig): Buffer {
    const chunk = (outputChunk ??= Buffer.allocUnsafeSlow(OUTPUT_CHUNK_SIZE));
    const parts: Buffer[] = [];
    let produced = 0;
    let inputOffset = 0;
    let inputLeft = input.length;
    for (;;) {
      this.handle.writeSync(flush, input, inputOffset, inputLeft, chunk, 0, OUTPUT_CHUNK_SIZE);
      if (this.error !== undefined) throw this.toError(this.error);
      const [outputSpaceLeft = 0, inputLeftAfter = 0] = this.state;
      const length = OUTPUT_CHUNK_SIZE - outputSpaceLeft;
      if (length > 0) {
        produced += length;
        if (produced > limit) throw tooBig();
        parts.push(Buffer.from(chunk.subarray(0, length)));
      }
      inputOffset += inputLeft - inputLeftAfter;
      inputLeft = inputLeftAfter;
      if (outputSpaceLeft !== 0) {
        // zlib stopped with output space to spare: it has flushed everything it could. Input left over at
        // this point means the stream ended (Z_STREAM_END) before it.
        this.ended = inputLeft > 0;
        break;
      }
    }
    if (parts.length === 1) return parts[0]!;
    return parts.length === 0 ? EMPTY : Buffer.concat(parts, produced);
  }

  close(): void {
    this.stream.destroy();
  }
}
