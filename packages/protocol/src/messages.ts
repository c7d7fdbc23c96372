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

export * from './messages-client.js';
export * from './messages-server.js';

/** Every message a client sends, discriminated on `op`. */
export type ClientMessage =
  | SubscribeMessage
  | UnsubscribeMessage
  | PublishMessage
  | RefreshMessage
  | PingMessage
  | CancelMessage
  | ClientChunkMessage;

/** Every message a server sends, discriminated on `op`. */
export type ServerMessage =
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

export type ClientOp = ClientMessage['op'];
export type ServerOp = ServerMessage['op'];

/** A client message as decoded (chunks carry their bytes in `data`). */
export const clientMessageSchema = z.discriminatedUnion('op', [
  subscribeSchema,
  unsubscribeSchema,
  publishSchema,
  refreshSchema,
  pingSchema,
  cancelSchema,
  clientChunkSchema,
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
  serverChunkSchema,
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
  },
  binaryHeader: { message: deliveryHeaderSchema, chunk: serverChunkHeaderSchema },
} as const satisfies DirectionSchemas;

/** Ops a client may send, in protocol.md order. */
export const CLIENT_OPS = ['subscribe', 'unsubscribe', 'publish', 'refresh', 'ping', 'cancel', 'chunk'] as const satisfies readonly ClientOp[];

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
] as const satisfies readonly ServerOp[];
