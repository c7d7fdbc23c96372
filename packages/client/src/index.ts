/**
 * `@switchboard/client`: the typed pubsub.v1 SDK for browsers and Node. The WebSocket implementation is
 * chosen by the package's export conditions (`browser`: the native `WebSocket`; `node`: `@switchboard/core`).
 * The wire protocol itself is `@switchboard/client/protocol`.
 */
export {
  Client,
  type ClientEvents,
  type ClientOptions,
  type ConnectedInfo,
  type ConnectionState,
  type Gap,
  type Message,
  type PublishAck,
  type PublishOptions,
  type RecoveryFailure,
  type SendQueueOptions,
  type StateChange,
  type SubscribeAck,
  type SubscribeOptions,
  Subscription,
  type SubscriptionState,
  createClient,
} from './client.js';
export { ClientErrorCode, type ErrorCode, SwitchboardError, type SwitchboardErrorDetails, isSwitchboardError } from './errors.js';
export type { Position } from './positions.js';
export type { ReconnectOptions } from './reconnect.js';
export type {
  Binary,
  BinaryInput,
  CheckPattern,
  CheckTopic,
  Checked,
  PayloadSchema,
  PublishData,
  SchemaMap,
  SubscribeData,
  Topic,
  TopicMap,
  TopicsOf,
  UntypedTopics,
} from './topic-map.js';
export type { NetworkWatcher, Transport, TransportClose, TransportEvents, TransportFactory, TransportOptions } from './transport/transport.js';
export { type WebSocketConstructor, type WebSocketLike, createWebSocketTransport } from './transport/browser.js';
export type { GapReason, Priority, RecoveryFailureReason, RecoveryResult, ServerLimits } from './protocol/index.js';
export { ProtocolCloseCode, ProtocolErrorCode } from './protocol/index.js';
