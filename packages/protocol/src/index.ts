/**
 * `@switchboard/protocol`: the pubsub.v1 wire protocol (docs/protocol.md). Pure and browser-safe;
 * imports nothing but zod. The broker and the SDK both build on it, and neither on the other.
 */
export { BEARER_PROTOCOL_PREFIX, ProtocolLimit, SUBPROTOCOL } from './constants.js';
export {
  PROTOCOL_ERROR_CODES,
  type ProtocolError,
  ProtocolErrorCode,
  isRetryableError,
  protocolError,
} from './errors.js';
export {
  type ErrorStatus,
  HttpStatus,
  PROTOCOL_ERROR_STATUSES,
  closeCodeOf,
  httpStatusOf,
} from './error-statuses.js';
export {
  CloseCodeRange,
  ProtocolCloseCode,
  type ReconnectAdvice,
  StandardCloseCode,
  reconnectAdvice,
} from './close-codes.js';
export {
  DEFAULT_PRIORITY,
  PRIORITIES,
  type Priority,
  PriorityRank,
  SEND_PRIORITIES,
  type SendPriority,
  comparePriority,
} from './priorities.js';
export {
  type JsonValue,
  PAYLOAD_ENCODINGS,
  type Payload,
  type PayloadEncoding,
  isBinaryPayload,
  payloadBytes,
  utf8ByteLength,
} from './payload.js';
export {
  type ParseResult,
  type ParsedPattern,
  type ParsedTopic,
  TopicSyntax,
  isValidPattern,
  isValidTopic,
  isWellFormedPattern,
  isWellFormedTopic,
  parsePattern,
  parseTopic,
  segmentsMatch,
  topicMatches,
} from './topics.js';
export { patternField, topicField } from './fields.js';
export {
  type CancelMessage,
  type ClientChunkHeader,
  type ClientChunkMessage,
  CLIENT_OPS,
  type ClientMessage,
  type ClientOp,
  type DeliveryHeader,
  type DeliveryMessage,
  type ErrorMessage,
  GAP_REASONS,
  type GapMessage,
  type GapReason,
  type PingMessage,
  type PongMessage,
  type PublishHeader,
  type PublishMessage,
  type PublishedMessage,
  RECOVERY_FAILURE_REASONS,
  type RecoveryFailureReason,
  type RecoveryResult,
  type RefreshMessage,
  type RefreshedMessage,
  SERVER_OPS,
  type ServerChunkHeader,
  type ServerChunkMessage,
  type ServerLimits,
  type ServerMessage,
  type ServerOp,
  type SubscribeMessage,
  type SubscribedMessage,
  type UnsubscribeMessage,
  type UnsubscribedMessage,
  type WelcomeMessage,
  cancelSchema,
  clientChunkSchema,
  clientMessageSchema,
  deliveryHeaderSchema,
  deliverySchema,
  errorSchema,
  gapSchema,
  pingSchema,
  pongSchema,
  publishHeaderSchema,
  publishSchema,
  publishedSchema,
  recoveryResultSchema,
  refreshSchema,
  refreshedSchema,
  serverChunkSchema,
  serverLimitsSchema,
  serverMessageSchema,
  subscribeSchema,
  subscribedSchema,
  unsubscribeSchema,
  unsubscribedSchema,
  welcomeSchema,
} from './messages.js';
export {
  type BinaryHeader,
  type TextMessage,
  encodeBinary,
  encodeMessage,
  encodeText,
  encodeTextWithData,
  joinTextWithData,
} from './encode.js';
export { type EncodedHistoryData, type HistoryAnswerHead, type HistoryEntry, encodeHistoryAnswer } from './history-answer.js';
export type { DecodeResult, WireData } from './decode-frame.js';
export { decodeClientMessage } from './decode-client.js';
export { decodeServerMessage } from './decode-server.js';
export {
  type ChunkFor,
  type FrameOptions,
  type OutgoingFrame,
  type SplitOptions,
  encodeFrames,
  messagePriority,
  splitIntoChunks,
} from './chunks.js';
export {
  type AnyChunk,
  type AssembledMessage,
  ChunkAssembler,
  type ChunkAssemblerOptions,
  type ChunkHeaderOf,
  type ChunkLimits,
  type ChunkResult,
  type ExpiredTransfer,
} from './chunk-assembler.js';
