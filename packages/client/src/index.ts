/**
 * `@switchboard/client`: the typed pubsub.v1 SDK for browsers and Node. The WebSocket implementation is
 * chosen by the package's export conditions (`browser`: the native `WebSocket`; `node`: `@switchboard/core`).
 * The wire protocol itself is `@switchboard/protocol`.
 *
 * @module @switchboard/client
 */
export { Client, createClient } from './client.js';
export type {
  ClientEvents,
  ClientOptions,
  ConnectedInfo,
  ConnectionState,
  PublishAck,
  PublishOptions,
  SendQueueOptions,
  StateChange,
} from './client-options.js';
export {
  type Gap,
  type Message,
  type RecoveryFailure,
  type SubscribeAck,
  type SubscribeOptions,
  Subscription,
  type SubscriptionState,
} from './subscription.js';
export type {
  JoinEvent,
  LeaveEvent,
  MembersChange,
  PresenceCounts,
  PresenceOptions,
  PresenceSnapshot,
  PresenceStats,
} from './presence-events.js';
export type { ServerSubscriptionChange } from './server-subscriptions.js';
export type { RpcData, RpcMap, RpcOptions, RpcResult, UntypedRpc } from './rpc-requests.js';
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
export type {
  NetworkWatcher,
  PemInput,
  TlsOptions,
  Transport,
  TransportClose,
  TransportEvents,
  TransportFactory,
  TransportOptions,
} from './transport/transport.js';
export { type WebSocketConstructor, type WebSocketLike, createWebSocketTransport } from './transport/browser.js';
export type { GapReason, LatestResult, LeaveReason, PresenceLevel, Priority, RecoveryFailureReason, RecoveryResult, ServerLimits } from '@switchboard/protocol';
export { ProtocolCloseCode, ProtocolErrorCode } from '@switchboard/protocol';
