import * as z from 'zod/mini';
import {
  type CancelMessage,
  type ClientChunkMessage,
  type PingMessage,
  type PublishMessage,
  type RefreshMessage,
  type SubscribeMessage,
  type UnsubscribeMessage,
  cancelSchema,
  clientChunkHeaderSchema,
  clientChunkSchema,
  pingSchema,
  publishHeaderSchema,
  publishSchema,
  refreshSchema,
  subscribeSchema,
  unsubscribeSchema,
} from './messages-client.js';
import { bytesField } from './fields.js';
import { checkFirstChunkFields, chunkHeaderShape } from './messages-chunk.js';
import {
  type DeliveryMessage,
  type ErrorMessage,
  type GapMessage,
  type PongMessage,
  type PublishedMessage,
  type RefreshedMessage,
  type ServerChunkMessage,
  type SubscribedMessage,
  type UnsubscribedMessage,
  type WelcomeMessage,
  deliveryHeaderSchema,
  deliverySchema,
  errorSchema,
  gapSchema,
  pongSchema,
  publishedSchema,
  refreshedSchema,
  serverChunkHeaderSchema,
  serverChunkSchema,
  subscribedSchema,
  unsubscribedSchema,
  welcomeSchema,
} from './messages-server.js';
import {
  type JoinMessage,
  type LeaveMessage,
  type PresenceChunkMessage,
  type PresenceGapMessage,
  type PresenceMessage,
  type PresenceRequestMessage,
  type PresenceStatsMessage,
  type PresenceStatsRequestMessage,
  type ServerSubscribeMessage,
  joinSchema,
  leaveSchema,
  presenceGapSchema,
  presenceHeaderSchema,
  presenceRequestSchema,
  presenceSchema,
  presenceStatsRequestSchema,
  presenceStatsSchema,
  serverSubscribeSchema,
} from './messages-presence.js';
import { type RpcMessage, type RpcResultMessage, rpcResultSchema, rpcSchema } from './messages-rpc.js';

export * from './messages-client.js';
export * from './messages-server.js';
export * from './messages-presence.js';
export * from './messages-rpc.js';

/** Every message a client sends, discriminated on `op`. */
export type ClientMessage =
  | SubscribeMessage
  | UnsubscribeMessage
  | PublishMessage
  | RefreshMessage
  | PingMessage
  | CancelMessage
  | ClientChunkMessage
  | PresenceRequestMessage
  | PresenceStatsRequestMessage
  | RpcMessage;

/** The messages every pubsub.v1 server may send (protocol.md §5.2), whatever its capabilities. */
export type CoreServerMessage =
  | WelcomeMessage
  | SubscribedMessage
  | UnsubscribedMessage
  | PublishedMessage
  | RefreshedMessage
  | PongMessage
  | DeliveryMessage
  | GapMessage
  | ErrorMessage
  | CancelMessage
  | ServerChunkMessage;

/** Every message a server sends, discriminated on `op`. */
export type ServerMessage =
  | CoreServerMessage
  | PresenceMessage
  | PresenceStatsMessage
  | JoinMessage
  | LeaveMessage
  | PresenceGapMessage
  | ServerSubscribeMessage
  | PresenceChunkMessage
  | RpcResultMessage;

export type ClientOp = ClientMessage['op'];
export type ServerOp = ServerMessage['op'];

/**
 * A server chunk as the full direction reads it: its first chunk's header is a delivery or a presence answer
 * (protocol.md §7.2). A client that uses no capability reads only deliveries (decode-server-core.ts).
 */
const chunkedServerHeaderSchema = z.discriminatedUnion('op', [deliveryHeaderSchema, presenceHeaderSchema]);
const anyServerChunkHeaderSchema = z.object(chunkHeaderShape(chunkedServerHeaderSchema)).check(z.superRefine(checkFirstChunkFields));
const anyServerChunkSchema = z
  .object({ ...chunkHeaderShape(chunkedServerHeaderSchema), data: bytesField })
  .check(z.superRefine(checkFirstChunkFields));

/** A client message as decoded (chunks carry their bytes in `data`). */
export const clientMessageSchema = z.discriminatedUnion('op', [
  subscribeSchema,
  unsubscribeSchema,
  publishSchema,
  refreshSchema,
  pingSchema,
  cancelSchema,
  clientChunkSchema,
  presenceRequestSchema,
  presenceStatsRequestSchema,
  rpcSchema,
]);

/** A server message as decoded (chunks carry their bytes in `data`). */
export const serverMessageSchema = z.discriminatedUnion('op', [
  welcomeSchema,
  subscribedSchema,
  unsubscribedSchema,
  publishedSchema,
  refreshedSchema,
  pongSchema,
  deliverySchema,
  gapSchema,
  errorSchema,
  cancelSchema,
  anyServerChunkSchema,
  presenceSchema,
  presenceStatsSchema,
  joinSchema,
  leaveSchema,
  presenceGapSchema,
  serverSubscribeSchema,
  rpcResultSchema,
]);

/**
 * One direction of the protocol as the zod decoder needs it: the schema of each op's text form and of each
 * binary form's header. An op missing from a table does not have that form (protocol.md §3).
 */
export interface DirectionSchemas {
  readonly text: Readonly<Record<string, z.ZodMiniType>>;
  readonly binaryHeader: Readonly<Record<string, z.ZodMiniType>>;
}

/** What a server accepts from clients. */
export const clientDirection = {
  text: {
    subscribe: subscribeSchema,
    unsubscribe: unsubscribeSchema,
    publish: publishSchema,
    refresh: refreshSchema,
    ping: pingSchema,
    cancel: cancelSchema,
    presence: presenceRequestSchema,
    presence_stats: presenceStatsRequestSchema,
    rpc: rpcSchema,
  },
  binaryHeader: { publish: publishHeaderSchema, chunk: clientChunkHeaderSchema },
} as const satisfies DirectionSchemas;

/** What a client accepts from servers. */
export const serverDirection = {
  text: {
    welcome: welcomeSchema,
    subscribed: subscribedSchema,
    unsubscribed: unsubscribedSchema,
    published: publishedSchema,
    refreshed: refreshedSchema,
    pong: pongSchema,
    message: deliverySchema,
    gap: gapSchema,
    error: errorSchema,
    cancel: cancelSchema,
    presence: presenceSchema,
    presence_stats: presenceStatsSchema,
    join: joinSchema,
    leave: leaveSchema,
    presence_gap: presenceGapSchema,
    server_subscribe: serverSubscribeSchema,
    rpc_result: rpcResultSchema,
  },
  binaryHeader: { message: deliveryHeaderSchema, chunk: anyServerChunkHeaderSchema },
} as const satisfies DirectionSchemas;

/** Ops a client may send, in protocol.md order. */
export const CLIENT_OPS = [
  'subscribe',
  'unsubscribe',
  'publish',
  'refresh',
  'ping',
  'cancel',
  'chunk',
  'presence',
  'presence_stats',
  'rpc',
] as const satisfies readonly ClientOp[];

/** Ops a server may send, in protocol.md order. */
export const SERVER_OPS = [
  'welcome',
  'subscribed',
  'unsubscribed',
  'published',
  'refreshed',
  'pong',
  'message',
  'gap',
  'error',
  'cancel',
  'chunk',
  'presence',
  'presence_stats',
  'join',
  'leave',
  'presence_gap',
  'server_subscribe',
  'rpc_result',
] as const satisfies readonly ServerOp[];
