import type { Role } from '../constants.js';
import { PerMessageDeflate as SansIoPerMessageDeflate, type PerMessageDeflateCodecOptions } from '../extensions/permessage-deflate-codec.js';
import type { DeflateParams } from '../extensions/permessage-deflate.js';
import { encodeFrame as encodeSansIoFrame, type EncodeFrameOptions } from '../frame.js';
import { FrameParser as SansIoFrameParser, type FrameParserOptions as SansIoFrameParserOptions } from '../frame-parser.js';
import * as handshake from '../handshake.js';
import type { Platform } from '../platform.js';
import { encodeMessage as encodeSansIoMessage, type EncodeMessageOptions } from '../message-encoder.js';
import { Protocol as SansIoProtocol } from '../protocol.js';
import type { ProtocolOptions as SansIoProtocolOptions } from '../protocol-types.js';
import { nodePlatform, randomBytes, toBuffer } from './node-platform.js';

/**
 * The sans-I/O API as `@switchboard/core` has always offered it: the same names and signatures, with
 * `nodePlatform` filled in where the sans-I/O layer (`@switchboard/core/sans-io`) takes a `Platform`.
 * A `platform` can still be passed, e.g. by a test that counts allocations.
 */

/** Options as the sans-I/O ones, with the platform optional. */
type WithOptionalPlatform<T extends { platform: Platform }> = Omit<T, 'platform'> & { platform?: Platform };

/** The sans-I/O `ProtocolOptions`, where `platform` defaults to `nodePlatform`. */
export type ProtocolOptions = WithOptionalPlatform<SansIoProtocolOptions>;
/** The sans-I/O `FrameParserOptions`, where `platform` defaults to `nodePlatform`. */
export type FrameParserOptions = WithOptionalPlatform<SansIoFrameParserOptions>;

/** `Protocol` on `nodePlatform` unless told otherwise: its bytes are Buffers. */
export class Protocol extends SansIoProtocol {
  constructor(options: ProtocolOptions) {
    super({ ...options, platform: options.platform ?? nodePlatform });
  }
}

/** `FrameParser` on `nodePlatform` unless told otherwise. */
export class FrameParser extends SansIoFrameParser {
  constructor(options: FrameParserOptions) {
    super({ ...options, platform: options.platform ?? nodePlatform });
  }
}

/** `PerMessageDeflate` on node:zlib unless told otherwise. */
export class PerMessageDeflate extends SansIoPerMessageDeflate {
  constructor(role: Role, params: DeflateParams, options: PerMessageDeflateCodecOptions = {}, platform: Platform = nodePlatform) {
    super(role, params, options, platform);
  }
}

/** `encodeFrame` into Buffers (the caller's payload, when sent as is, is viewed as one). */
export function encodeFrame(options: EncodeFrameOptions): Buffer[] {
  return asBuffers(encodeSansIoFrame(options, nodePlatform));
}

/** `encodeMessage` into Buffers, for `WebSocket.sendFrames`. */
export function encodeMessage(data: Uint8Array, options: EncodeMessageOptions): Buffer[] {
  return asBuffers(encodeSansIoMessage(data, options, nodePlatform));
}

/** The Sec-WebSocket-Accept value for a Sec-WebSocket-Key (RFC 6455 §4.2.2), hashed by node:crypto. */
export function computeAccept(key: string): string {
  return handshake.computeAccept(key, nodePlatform);
}

/** @param random source of the 16 bytes; tests inject one to get a fixed key. @default node:crypto */
export function generateKey(random: (size: number) => Uint8Array = randomBytes): string {
  return handshake.generateKey(random);
}

/**
 * Checks an upgrade request and builds the answer, 101 or the refusal (see the sans-I/O `acceptHandshake`),
 * with node:crypto for the accept hash.
 */
export function acceptHandshake(request: handshake.HandshakeRequest, options: handshake.ServerHandshakeOptions = {}): handshake.ServerHandshake {
  return handshake.acceptHandshake(request, options, nodePlatform);
}

/** A client's opening handshake: a fresh key from node:crypto and the request headers to send. */
export function createClientHandshake(options: handshake.ClientHandshakeOptions = {}): handshake.ClientHandshake {
  return handshake.createClientHandshake(options, nodePlatform);
}

/** Checks the server's answer to `clientHandshake`: 101, the accept hash, the subprotocol and extensions. */
export function validateServerResponse(
  response: { statusCode: number; headers: handshake.HeaderMap },
  clientHandshake: handshake.ClientHandshake,
): handshake.ClientHandshakeResult {
  return handshake.validateServerResponse(response, clientHandshake, nodePlatform);
}

/**
 * In place. A frame is one array from `nodePlatform` (a Buffer), or that header followed by the payload
 * as given (RFC 6455 §5.2 leaves it untouched), which only needs a view when the caller's was no Buffer.
 */
function asBuffers(parts: Uint8Array[]): Buffer[] {
  if (parts.length === 2) parts[1] = toBuffer(parts[1]!);
  return parts as Buffer[];
}
