export { CloseCode, Opcode, ReadyState, WEBSOCKET_GUID, WEBSOCKET_VERSION, type Role } from './constants.js';
export { ErrorCode, WebSocketError } from './errors.js';
export { encodeFrame, type EncodeFrameOptions, type Frame } from './frame.js';
export { FrameParser, type FrameParserOptions } from './frame-parser.js';
export { applyMask } from './mask.js';
export { encodeClosePayload, isSendableCloseCode, parseClosePayload, type ClosePayload } from './close.js';
export {
  Protocol,
  encodeMessage,
  type EncodeMessageOptions,
  type MessageCompressor,
  type ProtocolEvent,
  type ProtocolOptions,
  type ProtocolState,
  type SendOptions,
} from './protocol.js';
export {
  acceptHandshake,
  computeAccept,
  createClientHandshake,
  generateKey,
  HttpStatus,
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
  PerMessageDeflate,
  acceptDeflateResponse,
  deflateOffer,
  negotiateDeflate,
  type DeflateParams,
  type PerMessageDeflateCodecOptions,
  type PerMessageDeflateOptions,
} from './extensions/permessage-deflate.js';
export {
  WebSocket,
  type BinaryType,
  type MessageData,
  type SendData,
  type SendResult,
  type WebSocketInfo,
  type WebSocketOptions,
} from './node/websocket.js';
export { handleUpgrade, rejectUpgrade, type UpgradeOptions } from './node/server.js';
export { connect, type ConnectOptions } from './node/client.js';
