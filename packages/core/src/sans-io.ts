/**
 * `@switchboard/core/sans-io`: the WebSocket protocol without I/O and without Node (RFC 6455, RFC 7692).
 * Everything it needs from the runtime comes in through a `Platform`; `@switchboard/core` is the same API
 * with Node's platform filled in, plus the Node adapters.
 *
 * @module @switchboard/core/sans-io
 */
export { CloseCode, Opcode, ReadyState, WEBSOCKET_GUID, WEBSOCKET_VERSION, type Role } from './constants.js';
export { ErrorCode, WebSocketError } from './errors.js';
export type { DeflateRawOptions, InflateRawOptions, Platform, SyncZlib } from './platform.js';
export { encodeFrame, type EncodeFrameOptions, type Frame } from './frame.js';
export { FrameParser, type FrameParserOptions } from './frame-parser.js';
export { applyMask, jsMasker, type Masker } from './mask.js';
export { createSimdMasker } from './mask-simd.js';
export { encodeClosePayload, isSendableCloseCode, parseClosePayload, type ClosePayload } from './close.js';
export { Protocol } from './protocol.js';
export type { MessageCompressor, ProtocolEvent, ProtocolOptions, ProtocolState, SendOptions } from './protocol-types.js';
export { encodeMessage, type EncodeMessageOptions } from './message-encoder.js';
export {
  acceptHandshake,
  computeAccept,
  createClientHandshake,
  generateKey,
  HttpStatus,
  randomBytesFrom,
  rejectionResponse,
  validateServerResponse,
  type ClientHandshake,
  type ClientHandshakeOptions,
  type ClientHandshakeResult,
  type HandshakeRequest,
  type HeaderMap,
  type ServerHandshake,
  type ServerHandshakeOptions,
} from './handshake.js';
export { formatExtension, isToken, parseExtensions, type ExtensionOffer, type ExtensionParamValue } from './extensions/extension-header.js';
export {
  PERMESSAGE_DEFLATE,
  acceptDeflateResponse,
  deflateOffer,
  negotiateDeflate,
  type DeflateParams,
  type PerMessageDeflateOptions,
} from './extensions/permessage-deflate.js';
export { PerMessageDeflate, type PerMessageDeflateCodecOptions } from './extensions/permessage-deflate-codec.js';
