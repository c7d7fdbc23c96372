/**
 * `@switchboard/core`: the Node entry. The sans-I/O API (see `./sans-io.ts`) with `nodePlatform` filled
 * in, under the names and signatures it has always had, and the Node adapters (WebSocket, server, client).
 *
 * @module @switchboard/core
 */
export { CloseCode, Opcode, ReadyState, WEBSOCKET_GUID, WEBSOCKET_VERSION, type Role } from './constants.js';
export { ErrorCode, WebSocketError } from './errors.js';
export type { DeflateRawOptions, InflateRawOptions, Platform, SyncZlib } from './platform.js';
export type { EncodeFrameOptions, Frame } from './frame.js';
export { applyMask, jsMasker, type Masker } from './mask.js';
export { createSimdMasker } from './mask-simd.js';
export { encodeClosePayload, isSendableCloseCode, parseClosePayload, type ClosePayload } from './close.js';
export type { MessageCompressor, ProtocolEvent, ProtocolState, SendOptions } from './protocol-types.js';
export type { EncodeMessageOptions } from './message-encoder.js';
export {
  HttpStatus,
  rejectionResponse,
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
export type { PerMessageDeflateCodecOptions } from './extensions/permessage-deflate-codec.js';
export {
  FrameParser,
  PerMessageDeflate,
  Protocol,
  acceptHandshake,
  computeAccept,
  createClientHandshake,
  encodeFrame,
  encodeMessage,
  generateKey,
  validateServerResponse,
  type FrameParserOptions,
  type ProtocolOptions,
} from './node/with-node-platform.js';
export { nodePlatform } from './node/node-platform.js';
export { WebSocket } from './node/websocket.js';
export type {
  BinaryType,
  MessageData,
  SendData,
  SendFragmentOptions,
  SendResult,
  WebSocketEvents,
  WebSocketInfo,
  WebSocketOptions,
} from './node/websocket-options.js';
export { checkUpgrade, completeUpgrade, handleUpgrade, rejectUpgrade, type UpgradeOptions } from './node/server.js';
export { connect, type ConnectOptions } from './node/client.js';
